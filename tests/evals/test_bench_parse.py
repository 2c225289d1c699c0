"""The sandbox-cost benchmark runs and reports both medians from one run (through the CLI, in its own process:
it parses in-process too, and a native parser fault must not take the test session down)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import DOCS


@pytest.mark.slow
def test_parse_benchmark_reports_both_paths():
    done = subprocess.run(
        [sys.executable, "-m", "citewise.api.cli", "bench", "parse", str(DOCS), "--repeats", "1", "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["files"] >= 20 and 0 < result["parsed"] < result["files"]  # the bad/ files fail, with reasons
    assert result["in_process_s_median"] > 0 and result["sandbox_s_median"] > 0
    assert result["sandbox_overhead"].endswith("%")
