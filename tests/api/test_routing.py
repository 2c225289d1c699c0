"""The router: offline prototypes plus rules, per-tenant examples, forced routes, and what each route does."""

from __future__ import annotations

from pathlib import Path

import pytest

from citewise.api.orchestration.routing import Router
from citewise.settings import RouterSettings
from tests.api.client import ask, auth

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def router(encoder):
    settings = RouterSettings(tenants={"t1": {"conversational": ["yo, what's cooking, bot?"]}})
    return Router(settings, encoder.embed_documents), encoder


@pytest.mark.parametrize(
    ("question", "route"),
    [
        ("hello!", "conversational"),
        ("thank you very much", "conversational"),
        ("write me a poem about spring", "out_of_scope"),
        ("How many days of paid holiday do full-time employees get?", "knowledge"),
        ("What is the average number of employees per office in the table?", "structured"),
        ("Compare the parental leave with the annual leave", "multi_step"),
    ],
)
def test_clear_questions_take_their_route(router, question, route):
    r, encoder = router
    got = r.route(question, encoder.embed_query(question), "default")
    assert got.name == route and got.confidence > 0


def test_a_tenants_own_examples_count_for_it_alone(router):
    r, encoder = router
    q = "yo, what's cooking, bot?"
    vector = encoder.embed_query(q)
    assert r.scores(q, vector, "t1")["conversational"] > r.scores(q, vector, "default")["conversational"]
    assert r.route(q, vector, "t1").name == "conversational"


def test_routes_over_http(env):
    client, keys, _ = env
    hello = ask(client, keys, "bob", "Hello there!")
    assert hello["route"]["name"] == "conversational" and not hello["refused"] and not hello["citations"]
    assert hello["sources"] == [] and "Citewise" in hello["answer"]
    poem = ask(client, keys, "bob", "Write me a poem about the sea")
    assert poem["route"]["name"] == "out_of_scope" and poem["refused"]
    forced = ask(client, keys, "bob", "Hello there!", route="knowledge")
    assert forced["route"] == {"name": "knowledge", "confidence": 1.0, "reason": "forced"}
    fact = ask(client, keys, "bob", "How many days of paid holiday do employees get?")
    assert fact["route"]["name"] == "knowledge" and "27 days" in fact["answer"]
    r = client.post("/v1/chat", json={"question": "hi", "route": "nowhere"}, headers=auth(keys, "bob"))
    assert r.status_code == 422


def test_multi_step_and_table_questions_are_answered_from_the_documents_until_their_tools_exist(env):
    client, keys, _ = env
    out = ask(client, keys, "bob", "Compare the holiday rules with the vitamin D findings", route="multi_step")
    assert "route_fallback:multi_step->knowledge" in out["flags"] and out["sources"]


@pytest.mark.slow
def test_the_routing_eval_reports_accuracy_per_route_and_latency():
    from citewise.evals.routing_eval import run_routing_eval

    report = run_routing_eval(FIXTURES / "routing.jsonl", log=lambda _: None)
    assert report["questions"] >= 200
    assert set(report["per_route"]) == {"knowledge", "conversational", "out_of_scope", "multi_step", "structured"}
    assert all(0 <= row["accuracy"] <= 1 for row in report["per_route"].values())
    assert {"p50", "p95"} <= set(report["route_ms"])


def test_example_vectors_are_embedded_once_for_all_tenants(encoder):
    embedded = []

    def embed_many(texts):
        embedded.extend(texts)
        return encoder.embed_documents(texts)

    r = Router(RouterSettings(tenants={"t1": {"knowledge": ["What is our pension plan?"]}}), embed_many)
    vector = encoder.embed_query("hello")
    r.route("hello", vector, "default")
    shipped = len(embedded)
    r.route("hello", vector, "t1")
    r.route("hello", vector, "t2")
    assert embedded[shipped:] == ["What is our pension plan?"]  # only the tenant's own example is new
