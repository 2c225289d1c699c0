"""The multi-step eval: its scoring rule, and a run over the committed fixtures with the extractive answerer
(no model server; the agent mode falls back to the pipeline and says so)."""

from __future__ import annotations

import pytest

from citewise.errors import DatasetError
from citewise.evals.agent_eval import FIXTURE, correct, load_questions, run_agent_eval

QUESTIONS = FIXTURE / "multistep" / "questions.jsonl"


def test_an_answer_needs_every_fact_in_any_accepted_spelling():
    assert correct("Trips cost 5,590 euros in total.", [["5590"]])
    assert correct("You get 27 days and may carry five over.", [["27"], ["five", "5"]])
    assert not correct("You get 27 days.", [["27"], ["five", "5"]])


def test_the_committed_set_has_thirty_multi_step_questions():
    rows = load_questions(QUESTIONS)
    assert len(rows) >= 30 and all(len(r["needs"]) >= 2 or r["kind"] != "lookups" for r in rows)
    assert sum(r["kind"].startswith("table") for r in rows) >= 10


def test_a_malformed_set_is_a_clear_error(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "x"}\n')
    with pytest.raises(DatasetError, match="needs"):
        load_questions(bad)


@pytest.mark.slow
def test_the_eval_runs_both_modes_on_the_fixtures():
    report = run_agent_eval(QUESTIONS, log=lambda _: None)
    assert set(report["modes"]) == {"pipeline", "agent"} and report["questions"] >= 30
    assert 0 < report["modes"]["pipeline"]["accuracy"] < 1
    agent_flags = {f for d in report["details"] if d["mode"] == "agent" for f in d["flags"]}
    assert any(f.startswith("agent_unavailable") for f in agent_flags)
