"""Sync jobs through Celery and a real Redis, with the qdrant-client backend (its local mode here).

One worker process at a time holds the local index (both local stores lock their folder); with a Qdrant
server URL the same code runs on many machines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from citewise.db import init_db
from citewise.ingest.jobs import JobStore
from citewise.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _settings(tmp_path, redis_url: str, **jobs) -> Settings:
    s = Settings(data_dir=tmp_path / "data")
    s.index.backend = "qdrant"
    s.jobs.backend = "celery"
    s.jobs.broker_url = redis_url
    for k, v in jobs.items():
        setattr(s.jobs, k, v)
    return s


def _wait(store: JobStore, job_id: str, timeout: float = 120, until=("succeeded", "failed")):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.job(job_id)
        if job.status in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {store.job(job_id).status} after {timeout} s")


def test_sync_through_celery_and_redis_end_to_end(tmp_path, redis_url, encoder):
    from celery.contrib.testing.worker import start_worker

    from citewise.ingest.jobs import start_sync
    from citewise.ingest.worker import CeleryRunner, make_celery, shared_ingestor
    from citewise.models import Principal
    from citewise.retrieval.retriever import RetrievalRequest, Retriever

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "falcon.md").write_text("# Falcon\n\nProject Falcon migrates the billing system to Rust by June.\n")
    (docs / "broken.pdf").write_bytes(b"this is not a pdf")
    settings = _settings(tmp_path, redis_url)
    store = JobStore(init_db(settings.db_url))
    conn = store.add_connector("docs", "filesystem", {"path": str(docs)}, tenant="acme", acl=[], interval_s=None)
    app = make_celery(settings)
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, queues=["citewise"]):
        job_id = start_sync(store, conn.id, CeleryRunner(settings))
        job = _wait(store, job_id)
        # the beat task starts due connectors through the same broker
        store.add_connector("hourly", "filesystem", {"path": str(docs)}, tenant="acme", acl=[], interval_s=3600)
        scheduled = app.tasks["citewise.schedule"].apply().get()
        assert len(scheduled) == 1 and _wait(store, scheduled[0]).status == "succeeded"
        assert app.tasks["citewise.schedule"].apply().get() == []  # not due again
    assert job.status == "succeeded" and job.backend == "celery", job
    assert (job.total, job.failed) == (2, 1) and "broken.pdf" in job.errors[0]["path"]
    ingestor = shared_ingestor(settings)  # the worker's index (this process): searchable afterwards
    hits = (
        Retriever(settings, store=ingestor.store, encoder=ingestor.encoder)
        .run(RetrievalRequest(query="When does billing move to Rust?", principal=Principal(tenant="acme")))
        .hits
    )
    assert hits and "Project Falcon" in hits[0].text
    ingestor.close()


def _worker(tmp_path, redis_url: str, log_name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "CITEWISE_DATA_DIR": str(tmp_path / "data"),
        "CITEWISE_INDEX__BACKEND": "qdrant",
        "CITEWISE_JOBS__BACKEND": "celery",
        "CITEWISE_JOBS__BROKER_URL": redis_url,
        "CITEWISE_JOBS__VISIBILITY_TIMEOUT_S": "5",
        "CITEWISE_JOBS__LOCK_TTL_S": "4",
        "CITEWISE_INGEST__BATCH_DOCS": "8",
    }
    log = (tmp_path / log_name).open("wb")
    worker = [sys.executable, "-m", "citewise.api.cli", "worker"]
    return subprocess.Popen(worker, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_killed_worker_is_replaced_and_the_index_converges(tmp_path, redis_url):
    """kill -9 a worker mid-sync; a new worker receives the redelivered task and the index equals a clean run."""
    from citewise.connectors import create_connector
    from citewise.ingest.pipeline import Ingestor

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"_id": f"d{i}", "title": f"Doc {i}", "text": f"Record {i} is about subject {i % 17}. " * 6})
            for i in range(400)
        )
    )
    settings = _settings(tmp_path, redis_url, visibility_timeout_s=5)
    store = JobStore(init_db(settings.db_url))
    conn = store.add_connector("corpus", "jsonl", {"path": str(corpus)}, tenant="t", acl=[], interval_s=None)
    from citewise.ingest.jobs import start_sync
    from citewise.ingest.worker import CeleryRunner

    first = _worker(tmp_path, redis_url, "w1.log")
    try:
        job_id = start_sync(store, conn.id, CeleryRunner(settings))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = store.job(job_id)
            if job.status == "running" and job.done >= 1:
                break
            assert job.status != "succeeded", "the sync finished before the kill; make the corpus bigger"
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert store.job(job_id).status == "running"  # died mid-way
    finally:
        if first.poll() is None:
            first.kill()
    second = _worker(tmp_path, redis_url, "w2.log")
    try:
        job = _wait(store, job_id, timeout=180, until=("succeeded",))
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert job.attempts >= 2 and job.failed == 0

    clean = Settings(data_dir=tmp_path / "clean")
    clean.index.backend = "qdrant"
    ref = Ingestor(clean)
    ref.sync(create_connector("jsonl", path=corpus), tenant="t")
    expected = {p.id: p.payload.text for p in ref.store.scroll()}
    ref.close()
    got_ing = Ingestor(settings)
    got = {p.id: p.payload.text for p in got_ing.store.scroll()}
    got_ing.close()
    assert got == expected  # no duplicates, nothing missing
