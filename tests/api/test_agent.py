"""The agent against a scripted OpenAI-compatible server (real HTTP; deterministic tool calls): a clean run,
malformed arguments, a tool that raises, a loop that never ends, and the caller's permissions in every tool."""

from __future__ import annotations

import json

import pytest

from citewise.api.orchestration.tools import evaluate
from citewise.errors import InvalidInputError
from tests.api.client import ask
from tests.api.conftest import AGENT


def _tool_call(name: str, arguments, call_id: str = "c1") -> dict:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "content": "",
        "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}],
    }


def _script(*messages: dict) -> None:
    AGENT[0].script = list(messages)
    AGENT[0].requests.clear()


def test_the_agent_searches_then_answers_with_citations_to_what_it_found(env):
    client, keys, _ = env
    _script(
        _tool_call("search", {"query": "paid holiday days"}),
        {"content": "Employees get 27 days of paid holiday per year [1]."},
    )
    out = ask(client, keys, "bob", "How many holiday days do we get?", profile="agent", mode="agent")
    assert out["stop_reason"] == "answer" and [s["type"] for s in out["steps"]] == ["tool_call", "answer"]
    assert out["steps"][0]["tool"] == "search" and out["steps"][0]["arguments"] == {"query": "paid holiday days"}
    assert out["grounded"] and out["citations"][0]["title"] == "holidays" and "27 days" in out["answer"]
    first, second = AGENT[0].requests
    assert {t["function"]["name"] for t in first["tools"]} == {
        "search",
        "read_document",
        "list_documents",
        "calculator",
        "table_query",
    }
    observation = json.loads(second["messages"][-1]["content"])
    assert second["messages"][-1]["role"] == "tool" and observation[0]["n"] == 1  # numbered for citing


def test_malformed_arguments_and_tool_errors_go_back_to_the_model(env):
    client, keys, _ = env
    _script(
        _tool_call("search", "{not json"),
        _tool_call("calculator", {"expression": "1/0"}, "c2"),
        _tool_call("teleport", {}, "c3"),
        _tool_call("search", {"k": 999}, "c4"),
        _tool_call("search", {"query": "paid holiday"}, "c5"),
        {"content": "Employees get 27 days of paid holiday per year [1]."},
    )
    out = ask(client, keys, "bob", "How many holiday days do we get?", profile="agent", mode="agent")
    failed = [s for s in out["steps"] if not s["ok"]]
    assert [s["tool"] for s in failed] == ["search", "calculator", "teleport", "search"]
    assert "not valid JSON" in failed[0]["summary"] and "cannot compute" in failed[1]["summary"]
    assert "unknown tool" in failed[2]["summary"] and "invalid arguments" in failed[3]["summary"]
    errors = [m["content"] for m in AGENT[0].requests[-1]["messages"] if m["role"] == "tool"]
    assert len(errors) == 5 and all("error" in json.loads(e) for e in errors[:4])  # the model saw every failure
    assert out["stop_reason"] == "answer" and out["grounded"]


def test_a_loop_that_never_ends_stops_at_the_limit_and_answers_from_what_it_found(env):
    client, keys, settings = env
    _script(_tool_call("search", {"query": "paid holiday"}))  # repeats forever
    out = ask(client, keys, "bob", "How many holiday days do we get?", profile="agent", mode="agent")
    assert out["stop_reason"] == "max_steps" and "agent_stopped:max_steps" in out["flags"]
    assert len(AGENT[0].requests) == settings.agent.max_steps and "27 days" in out["answer"]
    assert out["citations"]


def test_every_tool_runs_as_the_caller(env):
    """bob (eng) never sees the hr-only salaries document through search, list_documents or read_document."""
    client, keys, _ = env
    services = client.app.state.services
    from citewise.identity import lookup

    hana, bob = lookup(services.db, keys["hr"]), lookup(services.db, keys["bob"])
    tools = services.pipeline._tools()
    search, listing, read = tools["search"], tools["list_documents"], tools["read_document"]
    salaries = next(d for d in listing.run(hana, listing.arguments()).data if d["title"] == "salaries")
    assert salaries["doc_id"] not in {d["doc_id"] for d in listing.run(bob, listing.arguments()).data}
    for query in ("salary bands", "engineers pay 60k to 90k", "salaries"):
        found = search.run(bob, search.arguments(query=query, k=10))
        assert all(h.doc_id != salaries["doc_id"] for h in found.passages)
    with pytest.raises(InvalidInputError):
        read.run(bob, read.arguments(doc_id=salaries["doc_id"]))
    assert read.run(hana, read.arguments(doc_id=salaries["doc_id"])).passages
    _script(_tool_call("read_document", {"doc_id": salaries["doc_id"]}), {"content": "Salary bands are 60k-90k [1]."})
    out = ask(client, keys, "bob", "What are the salary bands?", profile="agent", mode="agent")
    assert "60k" not in out["answer"] and not out["steps"][0]["ok"]


def test_the_calculator_does_arithmetic_and_nothing_else():
    assert evaluate("(160 - 120) * 3") == 120 and evaluate("-2 ** 2") == -4 and evaluate("7 // 2") == 3
    for bad in ("__import__('os')", "a + 1", "2 ** 10000", "[1, 2]", "1 if 1 else 2"):
        with pytest.raises(InvalidInputError):
            evaluate(bad)


def test_without_a_tool_calling_model_the_question_takes_the_pipeline(env):
    client, keys, _ = env
    out = ask(client, keys, "bob", "How many holiday days do we get?", mode="agent")  # the extractive profile
    assert any(f.startswith("agent_unavailable") for f in out["flags"]) and "27 days" in out["answer"]


def test_the_text_protocol_runs_react_for_servers_without_function_calling(env):
    client, keys, _ = env
    _script(
        {"content": 'Thought: look it up.\nAction: search\nAction Input: {"query": "paid holiday days"}'},
        {"content": "Action: calculator\nAction Input: {oops"},
        {"content": "Final Answer: Employees get 27 days of paid holiday per year [1]."},
    )
    out = ask(client, keys, "bob", "How many holiday days do we get?", profile="agent-text", mode="agent")
    assert out["stop_reason"] == "answer" and out["grounded"] and "27 days" in out["answer"]
    assert "agent_protocol:text" in out["flags"] and [s["ok"] for s in out["steps"]] == [True, False, True]
    first, _, last = AGENT[0].requests
    assert "tools" not in first and "Action Input:" in first["messages"][0]["content"]
    observations = [m["content"] for m in last["messages"] if m["content"].startswith("Observation: ")]
    assert len(observations) == 2 and json.loads(observations[0][len("Observation: ") :])[0]["n"] == 1
    assert "not valid JSON" in observations[1]


def test_auto_switches_to_text_when_the_server_rejects_tools(env):
    client, keys, _ = env
    _script(
        {"content": 'Action: search\nAction Input: {"query": "paid holiday"}'},
        {"content": "Final Answer: Employees get 27 days of paid holiday per year [1]."},
    )
    AGENT[0].reject_tools = True
    try:
        out = ask(client, keys, "bob", "How many holiday days do we get?", profile="agent", mode="agent")
    finally:
        AGENT[0].reject_tools = False
    assert "agent_protocol:text" in out["flags"] and out["grounded"] and "27 days" in out["answer"]
    assert "tools" in AGENT[0].requests[0] and all("tools" not in r for r in AGENT[0].requests[1:])


def test_react_replies_parse_into_actions_or_answers():
    from citewise.api.orchestration.agent import parse_react

    action = parse_react('Action: read_document\nAction Input: {"doc_id": "abc"} trailing words')
    assert json.loads(action.tool_calls[0]["function"]["arguments"]) == {"doc_id": "abc"}
    assert parse_react("Final Answer: 42 [1]").content == "42 [1]" and not parse_react("Final Answer: x").tool_calls
    assert parse_react("just an answer").content == "just an answer"
    assert parse_react("Action: search").tool_calls[0]["function"]["arguments"] == ""


def test_llm_variants_parse_into_distinct_queries():
    from citewise.api.orchestration.multi_query import parse_variants

    text = "1. vitamin D and fractures\n- Does vitamin D prevent broken bones?\n\nQuery 3: bone density\nextra"
    question = "Does vitamin D prevent broken bones?"
    assert parse_variants(text, question) == ["vitamin D and fractures", "bone density", "extra"]
    assert parse_variants(None, question) == [] and parse_variants("x" * 500, question) == []
