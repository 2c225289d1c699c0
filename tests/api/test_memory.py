"""Conversation memory: summaries past the token budget (LLM or extractive), the whole history kept, and
follow-up rewriting (LLM or heuristic), plus the multi-turn dev set's retrieval eval."""

from __future__ import annotations

import pytest

from citewise.api.orchestration.memory import extractive_summary, recall
from citewise.api.orchestration.sessions import Memory
from tests.api.client import ask, auth

TURNS = [
    ("user", "How many days of paid holiday do employees get?"),
    ("assistant", "Employees get 27 days of paid holiday per year [1]. Unused days expire in March [1]."),
    ("user", "Do vitamin D supplements reduce fractures?"),
    ("assistant", "Vitamin D supplements reduce the risk of bone fractures in older adults [1]."),
    ("user", "When is the parking review?"),
    ("assistant", "The quarterly review of the parking garage is scheduled for Friday [1]."),
]


def test_past_the_budget_older_turns_become_an_extractive_summary():
    memory = Memory(turns=list(TURNS), ids=[1, 2, 3, 4, 5, 6])
    out = recall(memory, "And in children?", max_tokens=40, keep_turns=1, generate=None)
    assert out.summarised_by == "extractive" and out.recent == TURNS[4:]
    assert "bone fractures" in out.summary and "[1]" not in out.summary  # the newest summarised exchange stays
    assert out.new_summary == (out.summary, 4)  # everything up to message 4 is summarised
    short = recall(memory, "And in children?", max_tokens=10_000, keep_turns=1, generate=None)
    assert short.summarised_by is None and short.recent == TURNS


def test_the_llm_summarises_and_rewrites_when_there_is_one_and_falls_back_when_it_rambles():
    asked = []

    def llm(template, values):
        asked.append(template)
        return "Holiday is 27 days; vitamin D helps." if template == "summarise" else "vitamin D fractures in children"

    out = recall(Memory(turns=list(TURNS), ids=[1, 2, 3, 4, 5, 6]), "And in children?", max_tokens=40, keep_turns=1,
                 generate=llm)  # fmt: skip
    assert asked == ["summarise", "rewrite"] and out.summarised_by == "llm" and out.rewritten_by == "llm"
    assert out.query == "vitamin D fractures in children" and out.summary.startswith("Holiday is 27 days")
    rambling = recall(Memory(turns=TURNS[:2]), "And when do they expire?", max_tokens=10_000, keep_turns=4,
                      generate=lambda t, v: "x " * 500)  # fmt: skip
    assert rambling.rewritten_by == "heuristic" and rambling.query.startswith("How many days of paid holiday")


def test_the_extractive_summary_stays_within_its_budget():
    long = [("user", f"Question {i} about holidays?") if i % 2 == 0 else ("assistant", f"Answer {i}. More.")
            for i in range(200)]  # fmt: skip
    summary = extractive_summary("", long, max_tokens=60)
    assert len(summary) < 60 * 4 and "Answer 199" in summary  # the newest exchanges survive


def test_a_long_session_is_summarised_and_keeps_its_whole_history(env):
    client, keys, settings = env
    budget = settings.chat.memory_tokens
    settings.chat.memory_tokens = 100
    try:
        session = None
        questions = [
            "How many days of paid holiday do employees get?",
            "When do unused holiday days expire?",
            "Do vitamin D supplements reduce fractures?",
            "Who benefits most from vitamin D?",
            "When is the parking garage review?",
            "And the holiday days, how many again?",
        ]
        flags = []
        for q in questions:
            out = ask(client, keys, "bob", q, **({"session_id": session} if session else {}))
            session = out["session_id"]
            flags.append(out["flags"])
        assert any("summarised:extractive" in f for f in flags)
        services = client.app.state.services
        from citewise.identity import lookup

        bob = lookup(services.db, keys["bob"])
        assert len(services.sessions.history(bob, session)) == 2 * len(questions)  # nothing is thrown away
        _, memory = services.sessions.open(bob, session)
        assert memory.summary and len(memory.turns) < 2 * len(questions)
    finally:
        settings.chat.memory_tokens = budget


def test_another_principal_cannot_continue_the_session(env):
    client, keys, _ = env
    sid = ask(client, keys, "bob", "How many days of paid holiday do employees get?")["session_id"]
    r = client.post("/v1/chat", json={"question": "and?", "session_id": sid}, headers=auth(keys, "hr"))
    assert r.status_code == 404


@pytest.mark.slow
def test_the_multi_turn_dev_set_measures_rewrites(tmp_path):
    from pathlib import Path

    from citewise.evals.memory_eval import run_memory_eval
    from citewise.settings import Settings

    fixtures = Path(__file__).parents[1] / "fixtures" / "company-policies"
    report = run_memory_eval(
        fixtures, fixtures / "conversations.jsonl", settings=Settings(data_dir=tmp_path), log=lambda _: None
    )
    assert report["conversations"] >= 40 and report["follow_ups"] >= 50
    methods = report["methods"]
    assert methods["heuristic"]["hit@1"] >= methods["as_typed"]["hit@1"]  # the rewrite helps, never hurts here
    assert len(report["details"]) == report["follow_ups"]
