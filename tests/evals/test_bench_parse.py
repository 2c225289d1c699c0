"""The sandbox-cost benchmark runs and reports both medians from one run."""

from __future__ import annotations

import pytest

from citewise.evals.bench_parse import run_parse_benchmark
from tests.conftest import DOCS


@pytest.mark.slow
def test_parse_benchmark_reports_both_paths():
    result = run_parse_benchmark(DOCS, repeats=1, log=lambda m: None)
    assert result["files"] >= 20 and 0 < result["parsed"] < result["files"]  # the bad/ files fail, with reasons
    assert result["in_process_s_median"] > 0 and result["sandbox_s_median"] > 0
    assert result["sandbox_overhead"].endswith("%")
