"""The query benchmark end to end on a generated BEIR folder (real ingest, retriever and ranx)."""

from __future__ import annotations

import json

import pytest

from citewise.errors import DatasetError
from citewise.evals.beir import load_beir
from citewise.evals.bench_query import run_query_benchmark
from citewise.evals.retrieval_eval import parse_config
from citewise.settings import Settings

TOPICS = {
    "d1": ("Vitamin D", "Vitamin D supplements lower the rate of bone fractures in elderly patients."),
    "d2": ("Sleep", "Short sleep duration is associated with frequent headaches in adults."),
    "d3": ("Qdrant", "Qdrant fuses dense and sparse vector search results inside the engine."),
    "d4": ("Rust", "The Rust borrow checker rules out data races at compile time."),
    "d5": ("Holidays", "Employees receive twenty-seven days of paid holiday each year."),
    "d6": ("Coffee", "Moderate coffee consumption does not raise the risk of heart disease."),
}
QUERIES = {"q1": ("bone fractures and vitamin D", "d1"), "q2": ("why do I get headaches", "d2"),
           "q3": ("hybrid search fusion engine", "d3"), "q4": ("paid holiday days", "d5")}  # fmt: skip


def write_beir(root):
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": k, "title": t, "text": x}) for k, (t, x) in TOPICS.items())
    )
    (root / "queries.jsonl").write_text("\n".join(json.dumps({"_id": q, "text": t}) for q, (t, _) in QUERIES.items()))
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, (_, d) in QUERIES.items())
    )
    return root


@pytest.mark.integration
def test_bench_query_reports_quality_and_latency(tmp_path):
    root = write_beir(tmp_path / "tiny")
    logs: list[str] = []
    result = run_query_benchmark(
        root,
        configs=("dense", "sparse", "hybrid+fusion"),
        settings=Settings(data_dir=tmp_path / "data"),
        log=logs.append,
    )
    assert result["queries"] == 4 and set(result["configs"]) == {"dense", "sparse", "hybrid+fusion"}
    for row in result["configs"].values():
        assert row["ndcg@10"] > 0.8 and row["recall@100"] == 1.0
        assert 0 < row["latency_ms_p50"] <= row["latency_ms_p95"]
        assert "search" in row["stages_ms_p95"]
    assert result["query_embedding_ms"]["p50"] > 0
    again = run_query_benchmark(
        root, configs=("sparse",), settings=Settings(data_dir=tmp_path / "data"), log=logs.append
    )
    assert any("6 unchanged" in line for line in logs) and again["configs"]["sparse"]["recall@100"] == 1.0


def test_config_names_and_dataset_errors(tmp_path):
    assert parse_config("hybrid:rrf+fusion") == {"mode": "hybrid", "fusion": "rrf", "reranker": "fusion"}
    assert parse_config("dense") == {"mode": "dense", "fusion": None, "reranker": "none"}
    with pytest.raises(ValueError):
        parse_config("fuzzy")
    with pytest.raises(DatasetError, match="missing"):
        load_beir(tmp_path)
    root = write_beir(tmp_path / "bad")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq9\td1\t1\n")
    with pytest.raises(DatasetError, match="absent from queries.jsonl"):
        load_beir(root)
    (root / "qrels" / "test.tsv").write_text("q1\td1\n")
    with pytest.raises(DatasetError, match="line 1"):
        load_beir(root)
