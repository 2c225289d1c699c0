"""kill -9 `citewise connectors sync` of a SQL source with thousands of rows, sync again, and compare the
index with a clean run's: the second sync resumes (what was indexed is listed as unchanged, not redone)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.ingest.test_crash_resume import _indexed, _snapshot

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROWS = 3000


def _source(path) -> str:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, title TEXT, body TEXT, updated INTEGER)")
        con.executemany(
            "INSERT INTO articles VALUES (?, ?, ?, ?)",
            [
                (i, f"Article {i}", f"Article {i} explains policy {i % 97} for team {i % 13} in region {i % 7}.", 1)
                for i in range(ROWS)
            ],
        )
    return f"sqlite:///{path}"


def _cli(data_dir, *args: str, wait: bool = True):  # noqa: ANN001, ANN202
    env = {**os.environ, "CITEWISE_DATA_DIR": str(data_dir), "CITEWISE_INGEST__BATCH_DOCS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "citewise.api.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if not wait:
        return proc
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    return out


def _add(data_dir, url: str) -> None:
    options = {
        "url": url,
        "table": "articles",
        "title_column": "title",
        "text_columns": "body",
        "updated_column": "updated",
    }
    config = [arg for k, v in options.items() for arg in ("--config", f"{k}={v}")]
    _cli(data_dir, "connectors", "add", "articles", "--type", "sql", *config)


def test_kill_9_mid_sync_then_sync_again_equals_a_clean_run(tmp_path):
    url = _source(tmp_path / "source.db")
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    _add(crashed, url)
    proc = _cli(crashed, "connectors", "sync", "articles", wait=False)
    deadline = time.time() + 300
    while _indexed(crashed) < 300 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the sync finished before it could be killed; add rows"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _indexed(crashed)
    assert 0 < before < ROWS
    job = json.loads(_cli(crashed, "connectors", "sync", "articles", "--json"))
    assert job["status"] == "succeeded" and job["done"] == ROWS and job["failed"] == 0
    assert job["chunks"] <= ROWS - before + 100  # resumed: rows indexed before the kill were not redone
    _add(clean, url)
    _cli(clean, "connectors", "sync", "articles")
    assert _snapshot(crashed) == _snapshot(clean)
