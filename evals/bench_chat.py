"""Chat latency benchmark: `citewise serve` in a subprocess on a BEIR corpus index, queried over HTTP.

Reports p50/p95 of POST /v1/chat with the `extractive` provider (no LLM: the pipeline's own cost), the
pipeline's overhead on top of retrieval (request time minus the retrieve step, per request), p50/p95 per
step, and the server's RSS after the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from citewise.errors import UpstreamError
from citewise.evals.common import free_port, p50_p95
from citewise.settings import Settings


def run_chat_benchmark(
    dataset_dir: Path,
    *,
    split: str = "test",
    limit: int | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    import httpx
    import psutil

    from citewise.db import init_db
    from citewise.evals.retrieval_eval import prepare_dataset
    from citewise.identity import create_key

    settings = settings or Settings()
    data, collection, _ = prepare_dataset(dataset_dir, split, settings, log)
    import citewise.identity  # noqa: F401  (register the table)

    key = create_key(init_db(settings.db_url), tenant="default", user_id="bench", groups=[])
    port = free_port()
    env = {
        **os.environ,
        "CITEWISE_DATA_DIR": str(settings.data_dir),
        "CITEWISE_INDEX__COLLECTION": collection,
        "CITEWISE_GUARDS__RATE_LIMIT_PER_MINUTE": "1000000",
    }
    server_log = tempfile.TemporaryFile()  # not a pipe: an unread pipe fills up and stalls the server's logging
    server = subprocess.Popen(
        [sys.executable, "-m", "citewise.api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log,
    )
    base = f"http://127.0.0.1:{port}"
    queries = [data.queries[q] for q in sorted(data.queries)][:limit] if limit else list(data.queries.values())
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    server_log.seek(0)
                    raise UpstreamError(f"server exited: {server_log.read().decode()[-2000:]}")
                time.sleep(0.2)
            for q in queries[:5]:  # warm-up
                client.post("/v1/chat", json={"question": q})
            wall, overhead, refused = [], [], 0
            steps: dict[str, list[float]] = {}
            for q in queries:
                t0 = time.perf_counter()
                r = client.post("/v1/chat", json={"question": q})
                ms = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                body = r.json()
                refused += body["refused"]
                wall.append(ms)
                overhead.append(ms - body["timings"].get("retrieve", 0.0))
                for step, v in body["timings"].items():
                    steps.setdefault(step, []).append(v)
        rss_mb = psutil.Process(server.pid).memory_info().rss / 2**20
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()
    result = {
        "dataset": data.name,
        "queries": len(queries),
        "chat_ms": p50_p95(wall),
        "overhead_on_retrieval_ms": p50_p95(overhead),
        "steps_ms": {s: p50_p95(v) for s, v in steps.items()},
        "refused": refused,
        "server_rss_mb": round(rss_mb, 1),
    }
    log(
        f"/v1/chat p50 {result['chat_ms']['p50']} ms p95 {result['chat_ms']['p95']} ms; overhead on retrieval "
        f"p95 {result['overhead_on_retrieval_ms']['p95']} ms; RSS {result['server_rss_mb']} MB"
    )
    return result
