"""kill -9 the real CLI mid-ingest, run it again, and compare the index with a clean run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from citewise.retrieval.stores.edge import EdgeStore
from citewise.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _corpus(path, n=60):
    path.mkdir()
    for i in range(n):
        paras = "\n\n".join(f"Document {i} paragraph {j} discusses subject {i * 7 + j} in detail." for j in range(12))
        (path / f"doc{i:03}.txt").write_text(paras)


def _cli(data_dir, *args):
    env = {**os.environ, "CITEWISE_DATA_DIR": str(data_dir), "CITEWISE_INGEST__BATCH_DOCS": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "citewise.api.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _indexed(data_dir) -> int:
    db = data_dir / "citewise.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("select count(*) from documents where status='indexed'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _snapshot(data_dir):
    store = EdgeStore(Settings(data_dir=data_dir).index_path(), 384)
    try:
        return sorted((p.id, p.payload.doc_id, p.payload.version, p.payload.text) for p in store.scroll())
    finally:
        store.close()


def test_kill_9_mid_ingest_then_rerun_equals_clean_run(tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"

    proc = _cli(crashed, "ingest", str(corpus), "--json")
    deadline = time.time() + 240
    while _indexed(crashed) < 6 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the corpus bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < _indexed(crashed) < 60

    rerun = _cli(crashed, "ingest", str(corpus), "--json")
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    report = json.loads(out)
    assert report["failed"] == 0 and report["added"] + report["updated"] + report["unchanged"] == 60

    first = _cli(clean, "ingest", str(corpus), "--json")
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err

    assert _snapshot(crashed) == _snapshot(clean)
