"""Ingestion throughput through the job system: the in-process pool vs one Celery worker process at
concurrency 1 and 2 (threads), on the same corpus split into two connectors, in one run.

Each mode gets a fresh data dir (Qdrant Edge index, SQLite) and its own Redis on a loopback port. With a
local index the worker process runs one sync at a time (one writer), so concurrency 2 mostly overlaps
job bookkeeping; with a Qdrant server URL that lock goes away and workers on several machines add up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from citewise.errors import ConfigError
from citewise.evals.common import free_port
from citewise.settings import Settings


def _split(corpus: Path, out: Path, parts: int, limit: int | None) -> list[Path]:
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    files = []
    for i in range(parts):
        f = out / f"part{i}.jsonl"
        f.write_text("\n".join(lines[i::parts]) + "\n", encoding="utf-8")
        files.append(f)
    return files


def _run(mode: str, files: list[Path], root: Path, redis_bin: str | None) -> dict:
    from citewise.ingest.jobs import JobStore, start_sync
    from citewise.ingest.runners import InProcessRunner
    from citewise.ingest.worker import CeleryRunner

    data = root / mode
    settings = Settings(data_dir=data)
    procs: list[subprocess.Popen] = []
    try:
        if mode != "inprocess":
            port = free_port()
            procs.append(subprocess.Popen([redis_bin, "--port", str(port), "--save", "", "--appendonly", "no"],
                                          stdout=subprocess.DEVNULL))  # fmt: skip
            settings.jobs.backend = "celery"
            settings.jobs.broker_url = f"redis://127.0.0.1:{port}/0"
            env = {**os.environ, "CITEWISE_DATA_DIR": str(data), "CITEWISE_JOBS__BACKEND": "celery",
                   "CITEWISE_JOBS__BROKER_URL": settings.jobs.broker_url}  # fmt: skip
            concurrency = mode.rsplit("-", 1)[-1]
            worker = [sys.executable, "-m", "citewise.api.cli", "worker", "--concurrency", concurrency]
            procs.append(subprocess.Popen(worker,
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
            time.sleep(8)  # worker start-up (model load happens on the first task, inside the timing)
        store = JobStore.for_settings(settings)
        ids = [
            store.add_connector(f"part{i}", "jsonl", {"path": str(f)}, tenant="default", acl=[], interval_s=None).id
            for i, f in enumerate(files)
        ]
        runner = InProcessRunner(settings) if mode == "inprocess" else CeleryRunner(settings)
        t0 = time.perf_counter()
        jobs = [start_sync(store, cid, runner) for cid in ids]
        while any(store.job(j).status in ("queued", "running") for j in jobs):
            time.sleep(0.25)
        seconds = time.perf_counter() - t0
        infos = [store.job(j) for j in jobs]
        if isinstance(runner, InProcessRunner):
            runner.shutdown()
        docs = sum(j.done for j in infos)
        chunks = sum(j.chunks for j in infos)
        return {
            "mode": mode,
            "seconds": round(seconds, 1),
            "docs_per_s": round(docs / seconds, 1),
            "chunks_per_s": round(chunks / seconds, 1),
            "docs": docs,
            "chunks": chunks,
            "statuses": sorted({j.status for j in infos}),
        }
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)


def run_jobs_benchmark(corpus: Path, *, limit: int | None = None, log: Callable[[str], None] = print) -> dict:
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise ConfigError("redis-server is missing (make test installs it)")
    out: dict = {"corpus": str(corpus), "modes": []}
    with tempfile.TemporaryDirectory(prefix="citewise-bench-jobs-") as tmp:
        root = Path(tmp)
        files = _split(Path(corpus), root, 2, limit)
        for mode in ("inprocess", "celery-1", "celery-2"):
            row = _run(mode, files, root, redis_bin)
            log(json.dumps(row))
            out["modes"].append(row)
    base = out["modes"][0]["seconds"]
    for row in out["modes"]:
        row["relative_to_inprocess"] = round(base / row["seconds"], 2)
    return out
