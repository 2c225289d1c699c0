import json

import pytest

from citewise.evals.bench_ingest import run_ingest_benchmark

pytestmark = pytest.mark.slow


def test_benchmark_reports_medians_over_repeats(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"_id": str(i), "title": f"T{i}", "text": f"Passage {i} about topic {i}. " * 20} for i in range(12)]
    corpus.write_text("\n".join(json.dumps(r) for r in rows))
    result = run_ingest_benchmark(corpus, torch_sample=6, repeats=2, log=lambda _: None)
    assert result["documents"] == 12 and result["failed"] == 0 and result["chunks"] >= 12
    assert len(result["rounds"]) == 2 and all(r["reingest_unchanged"] == 12 for r in result["rounds"])
    assert result["torch_sample_chunks"] == 6
    med = result["median"]
    assert med["fast_vs_torch"] > 0 and med["end_to_end_over_pure_embedding"] > 0
    assert result["cosine_fast_vs_torch"]["mean"] >= 0.99
    assert 0 < result["peak_rss_mb_during_ingest"] < 4000
