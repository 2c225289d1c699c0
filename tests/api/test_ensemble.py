"""Ensemble profiles over real HTTP model servers (tests/api/conftest.py): the vote, the best-grounded
choice, a judge, and a member that is down."""

from __future__ import annotations

from tests.api.client import ask
from tests.api.conftest import COUNTED

QUESTION = "Does vitamin D prevent bone fractures?"


def _members(out: dict) -> dict[str, dict]:
    return {m["profile"]: m for m in out["ensemble"]["members"]}


def test_the_vote_picks_the_answer_the_others_back(env):
    client, keys, _ = env
    out = ask(client, keys, "bob", QUESTION, profile="ensemble")
    members = _members(out)
    assert out["ensemble"]["chosen"] == "counted" and out["provider"] == "ensemble:counted"
    assert members["counted"]["agreement"] == 0.5 and members["wrong"]["agreement"] == 0.0
    assert out["answer"].startswith("Vitamin D supplements reduce the risk") and out["grounded"]
    assert 0 < out["ensemble"]["agreement"] < 1
    assert out["usage"]["prompt_tokens"] >= 3 * 10  # every member's tokens are counted


def test_best_grounded_picks_the_answer_its_sources_support(env):
    client, keys, _ = env
    out = ask(client, keys, "bob", QUESTION, profile="ensemble-grounded")
    members = _members(out)
    assert out["ensemble"]["chosen"] == "counted" and members["counted"]["grounding"] > members["wrong"]["grounding"]


def test_a_judge_profile_can_overrule_the_vote(env):
    client, keys, _ = env
    out = ask(client, keys, "bob", QUESTION, profile="ensemble-judge")
    assert out["ensemble"]["chosen"] == "wrong"  # the judge said "3", whatever the vote


def test_a_member_that_is_down_is_reported_and_left_out(env):
    client, keys, _ = env
    before = len(COUNTED[0].requests)
    out = ask(client, keys, "bob", QUESTION, profile="ensemble-down")
    members = _members(out)
    assert out["ensemble"]["chosen"] == "counted" and not members["down"]["ok"] and members["down"]["error"]
    assert "hunter2" not in str(out)  # the down member's URL holds a password
    assert len(COUNTED[0].requests) == before + 1


def test_an_ensembles_prompt_fits_its_smallest_member(env):
    client, _, settings = env
    pipeline = client.app.state.services.pipeline
    small = settings.chat.profiles[[p.name for p in settings.chat.profiles].index("wrong")]
    before = small.context_window
    small.context_window = 1024
    try:
        assert pipeline._window(pipeline.profile("ensemble")) == 1024
    finally:
        small.context_window = before
