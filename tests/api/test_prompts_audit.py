"""The prompt registry (GET/PUT /v1/prompts), the audit log (GET /v1/audit) and the new /metrics series."""

from __future__ import annotations

import pytest

from citewise.api.orchestration.prompts import PromptRegistry, validate
from citewise.errors import ConfigError, InvalidInputError
from tests.api.client import ask, auth
from tests.api.conftest import COUNTED

USER = "Sources:\n{sources}\n\nQuestion: {question}\nAnswer:"


def test_shipped_templates_are_listed_with_versions(env):
    client, keys, _ = env
    refs = {t["ref"]: t for t in client.get("/v1/prompts", headers=auth(keys, "globex")).json()}
    assert {"answer@1", "answer@2", "summarise@1", "rewrite@1"} <= set(refs)
    assert refs["answer@1"]["origin"] == "shipped" and "{question}" in refs["answer@1"]["user"]


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("Question: {question}", "missing placeholder {sources}"),
        (USER + " {secret}", "unknown placeholder {secret}"),
        (USER + " {question!r}", "no format spec or conversion"),
        (USER + " {0}", "is not a name"),
        (USER + " {", "Single '{'"),
    ],
)
def test_placeholders_are_validated_when_saved(env, user, message):
    client, keys, _ = env
    r = client.put("/v1/prompts/answer", json={"system": "Be brief.", "user": user}, headers=auth(keys, "admin"))
    assert r.status_code == 422 and message in r.json()["detail"]


def test_saving_needs_an_admin_and_stays_in_its_tenant(env):
    client, keys, _ = env
    body = {"system": "You answer tersely from the sources.", "user": USER}
    assert client.put("/v1/prompts/terse", json=body, headers=auth(keys, "bob")).status_code == 403
    saved = client.put("/v1/prompts/terse", json=body, headers=auth(keys, "admin"))
    assert saved.status_code == 201 and saved.json()["ref"] == "terse@1" and saved.json()["origin"] == "tenant"
    assert client.put("/v1/prompts/terse", json=body, headers=auth(keys, "admin")).json()["version"] == 2
    assert client.get("/v1/prompts/terse", headers=auth(keys, "globex")).status_code == 404  # other tenant
    out = ask(client, keys, "bob", "Do vitamin D supplements reduce fractures?", profile="counted", prompt="terse@1")
    assert out["template"] == "terse@1"
    assert COUNTED[0].requests[-1]["messages"][0]["content"] == body["system"]
    r = client.post("/v1/chat", json={"question": "x?", "prompt": "terse@9"}, headers=auth(keys, "bob"))
    assert r.status_code == 400 and "no version 9" in r.json()["detail"]


def test_registry_resolves_legacy_names_and_rejects_bad_refs():
    registry = PromptRegistry(None)
    assert registry.resolve("t", "answer_v1").ref == "answer@1"  # the old setting value still works
    assert registry.resolve("t", "answer").version >= 2
    with pytest.raises(ConfigError):
        registry.resolve("t", "Answer!")
    with pytest.raises(InvalidInputError, match="system part takes no placeholders"):
        validate("answer", "You are {name}", USER)


def test_the_audit_log_has_one_row_per_answer(env):
    client, keys, _ = env
    assert client.get("/v1/audit", headers=auth(keys, "bob")).status_code == 403
    before = client.get("/v1/audit?limit=1", headers=auth(keys, "admin")).json()
    last_id = before[0]["id"] if before else 0
    a = ask(client, keys, "bob", "How many days of paid holiday do employees get?")
    b = ask(client, keys, "bob", "What is the capital of Mongolia?")  # refused: audited too
    rows = [r for r in client.get("/v1/audit", headers=auth(keys, "admin")).json() if r["id"] > last_id]
    assert [r["trace_id"] for r in rows] == [b["trace_id"], a["trace_id"]]  # newest first
    row = rows[1]
    assert row["user_id"] == "bob" and row["tenant"] == "acme" and row["question"] is None  # text off by default
    assert row["sources"][0]["chunk_id"] == a["sources"][0]["chunk_id"] and row["profile"] == "citewise"
    assert row["outcome"] == ("grounded" if a["grounded"] else "ungrounded") and rows[0]["outcome"] == "refused"
    assert len(row["question_sha256"]) == 64 and row["flags"] == a["flags"]
    globex = client.get("/v1/audit", headers=auth(keys, "globex"))
    assert globex.status_code == 403  # gus is no admin; an admin of globex would see only globex rows


def test_metrics_show_tokens_cost_cache_and_endpoint_state(env):
    client, keys, _ = env
    ask(client, keys, "bob", "Do vitamin D supplements reduce fractures in adults?", profile="counted")
    text = client.get("/metrics").text
    for series in (
        "citewise_llm_tokens_total",
        "citewise_llm_cost_total",
        "citewise_llm_calls_total",
        "citewise_llm_call_seconds_bucket",
        "citewise_cache_requests_total",
        "citewise_endpoint_circuit_state",
        "citewise_endpoint_in_flight",
        "citewise_guardrail_verdicts_total",
        "citewise_query_vector_cache_lookups",
    ):
        assert series in text, series
    assert 'citewise_endpoint_circuit_state{endpoint="http://[credentials]@127.0.0.1:9/v1",profile="down"}' in text or (
        "hunter2" not in text
    )
