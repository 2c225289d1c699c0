"""The gateway benchmark runs end to end and reports overhead, failover and cache figures from one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_gateway_benchmark_reports_overhead_failover_and_cache(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "citewise.api.cli", "bench", "gateway", "--calls", "30", "--cache-calls", "3",
         "--token-ms", "2", "--json"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "CITEWISE_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["overhead"]["gateway_ms"]["p50"] > 0 and "p95" in result["overhead"]["overhead_ms"]
    assert result["failover"]["failed_over_ms"]["p50"] > 0
    assert result["cache"]["hit_ms"]["p50"] < result["cache"]["miss_ms"]["p50"]  # 2 ms x 13 tokens per miss
