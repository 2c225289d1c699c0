"""Loaders, metrics against hand-computed values, the report files and JSON shape, and the baseline gate."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citewise.api.cli.main import app
from citewise.errors import DatasetError
from citewise.evals.beir import load_beir
from citewise.evals.qa import load_qa
from citewise.evals.retrieval_eval import METRICS, compare_to_baseline, score_run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "company-policies"
runner = CliRunner()


def test_metrics_match_hand_computed_values():
    # q1: relevant d1 (grade 2) at rank 2, d3 (grade 1) at rank 4; q2: its only relevant doc is not retrieved.
    qrels = {"q1": {"d1": 2, "d3": 1}, "q2": {"d9": 1}}
    run = {"q1": {"d0": 4.0, "d1": 3.0, "d2": 2.0, "d3": 1.0}, "q2": {"d5": 1.0}}
    got = score_run(qrels, run)
    dcg = 2 / math.log2(3) + 1 / math.log2(5)  # ranx: gain = relevance grade
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert got["ndcg@10"] == pytest.approx(round((dcg / idcg + 0) / 2, 4), abs=1e-4)
    assert got["recall@10"] == pytest.approx((1.0 + 0.0) / 2)
    assert got["mrr@10"] == pytest.approx((1 / 2 + 0) / 2)
    assert got["map@100"] == pytest.approx(round(((1 / 2 + 2 / 4) / 2 + 0) / 2, 4), abs=1e-4)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(FIXTURE, root)
    return root


def test_beir_loader_errors_name_file_and_line(tmp_path):
    with pytest.raises(DatasetError, match="corpus.jsonl is missing"):
        load_beir(tmp_path)
    root = _copy(tmp_path)
    assert len(load_beir(root).queries) == 24
    with pytest.raises(DatasetError, match="qrels/dev.tsv is missing"):
        load_beir(root, "dev")
    (root / "queries.jsonl").write_text('{"_id": "q01", "text": "ok"}\nnot json\n')
    with pytest.raises(DatasetError, match="queries.jsonl line 2"):
        load_beir(root)
    shutil.copy(FIXTURE / "queries.jsonl", root / "queries.jsonl")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq01\tnope-99\t1\n")
    with pytest.raises(DatasetError, match="corpus ids absent from corpus.jsonl: \\['nope-99'\\]"):
        load_beir(root)
    (root / "qrels" / "test.tsv").write_text("q01\thr-01\thigh\n")
    with pytest.raises(DatasetError, match="line 1: score 'high'"):
        load_beir(root)
    (root / "qrels" / "test.tsv").write_text("q01\thr-01\t1\n")
    (root / "corpus.jsonl").write_text('{"_id": "hr-01", "text": "x"}\n{"title": "no id"}\n')
    with pytest.raises(DatasetError, match="corpus.jsonl line 2"):
        load_beir(root)


def test_qa_loader(tmp_path):
    items = load_qa(FIXTURE / "qa.jsonl")
    assert len(items) == 7 and items[-1].answers == []
    bad = tmp_path / "qa.jsonl"
    bad.write_text('{"question": "ok", "answers": ["a"]}\n{"answers": ["b"]}\n')
    with pytest.raises(DatasetError, match="qa.jsonl line 2: question"):
        load_qa(bad)
    bad.write_text("")
    with pytest.raises(DatasetError, match="no questions"):
        load_qa(bad)
    with pytest.raises(DatasetError, match="missing"):
        load_qa(tmp_path / "nope.jsonl")


def test_baseline_comparison_names_config_and_metric():
    base = {"configs": {"dense": {m: 0.8 for m in METRICS}, "gone": {m: 0.9 for m in METRICS}}}
    report = {"configs": {"dense": {**{m: 0.8 for m in METRICS}, "ndcg@10": 0.795, "mrr@10": 0.75}}}  # -0.005: within
    assert compare_to_baseline(report, base, 0.01) == ["dense: mrr@10 0.7500 < baseline 0.8000 - tolerance 0.01"]
    assert compare_to_baseline(report, base, 0.1) == []


@pytest.mark.integration
def test_eval_retrieval_cli_json_reports_and_gate(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "out"
    args = ["eval", "retrieval", str(FIXTURE), "--configs", "sparse,hybrid+fusion", "--json", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert set(report) == {"dataset", "split", "queries", "configs"} and report["queries"] == 24
    row = report["configs"]["hybrid+fusion"]
    assert set(row) == {*METRICS, "latency_ms_p50", "latency_ms_p95"}
    assert report["configs"]["hybrid+fusion"]["ndcg@10"] > report["configs"]["sparse"]["ndcg@10"]
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "report.png", "runs"}
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| hybrid+fusion |" in (out / "report.md").read_text()
    lines = (out / "runs" / "sparse.tsv").read_text().splitlines()
    assert lines[0] == "query-id\tcorpus-id\trank\tscore" and len(lines) > 24

    # the committed baseline passes; a deliberately worse config (sparse held to hybrid's scores) fails
    ok = runner.invoke(app, [*args[:4], "hybrid+fusion", "--baseline", str(FIXTURE / "baseline.json")])
    assert ok.exit_code == 0, ok.output
    worse = tmp_path / "worse.json"
    worse.write_text(json.dumps({"configs": {"sparse": report["configs"]["hybrid+fusion"]}}))
    bad = runner.invoke(app, [*args[:4], "sparse", "--baseline", str(worse)])
    assert bad.exit_code == 1 and "regression: sparse: ndcg@10" in bad.output


@pytest.mark.integration
def test_eval_answers_on_the_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(
        app,
        ["eval", "answers", str(FIXTURE / "qa.jsonl"), "--corpus", str(FIXTURE / "corpus.jsonl"), "--json",
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["questions"] == 7 and report["contains_answer"] >= 0.8
    assert report["correct_refusal_rate"] == 1.0  # the capital of Australia is not in the company docs
    assert report["citation_validity"] == 1.0 and report["citation_precision"] >= 0.8
    assert 0 <= report["f1"] <= 1 and 0 <= report["exact_match"] <= 1
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"report.json", "report.md", "answers.jsonl"}
