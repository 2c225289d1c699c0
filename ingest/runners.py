"""Where jobs run: an in-process pool (embedded default) or Celery workers, chosen by CITEWISE_JOBS__BACKEND.

Both run `ingest.jobs.run_sync_job`; only the transport differs. Scheduled syncs use the same `submit_due`
from a timer thread (embedded) or Celery beat (scale-out).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

from citewise.settings import Settings
from ingest.jobs import JobStore, run_sync_job


class JobRunner(Protocol):
    backend: str

    def submit(self, job_id: str) -> None: ...


class InProcessRunner:
    """One worker thread: the embedded index allows one writer, and the caller's ingestor is reused."""

    backend = "inprocess"

    def __init__(self, settings: Settings, ingestor=None) -> None:  # noqa: ANN001
        self.settings = settings
        self.ingestor = ingestor
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewise-job")
        self.futures: dict[str, Future] = {}

    def submit(self, job_id: str) -> None:
        self.futures[job_id] = self._pool.submit(run_sync_job, job_id, settings=self.settings, ingestor=self.ingestor)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        future = self.futures.get(job_id)
        if future is not None:
            future.exception(timeout)  # the job row holds the outcome; this only waits

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


class CeleryRunner:
    backend = "celery"

    def __init__(self, settings: Settings) -> None:
        from ingest.worker import make_celery

        self.app = make_celery(settings)

    def submit(self, job_id: str) -> None:
        self.app.send_task("citewise.sync", args=[job_id])


def make_runner(settings: Settings, ingestor=None) -> JobRunner:  # noqa: ANN001
    return CeleryRunner(settings) if settings.jobs.backend == "celery" else InProcessRunner(settings, ingestor)


def start_sync(store: JobStore, connector_id: str, runner: JobRunner) -> str:
    job_id = store.create_job(connector_id, runner.backend)
    runner.submit(job_id)
    return job_id


def submit_due(store: JobStore, runner: JobRunner, now: datetime | None = None) -> list[str]:
    """Start a sync for every connector whose interval has passed since its last job."""
    now = now or datetime.now(UTC)
    started = []
    for c in store.connectors():
        if not c.interval_s:
            continue
        last = store.last_job_at(c.id)
        if last is None or (now - last).total_seconds() >= c.interval_s:
            started.append(start_sync(store, c.id, runner))
    return started


class Scheduler:
    """The embedded profile's timer: checks connector intervals every `schedule_check_s` seconds."""

    def __init__(self, store: JobStore, runner: JobRunner, every_s: float) -> None:
        self.store, self.runner, self.every_s = store, runner, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="citewise-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            submit_due(self.store, self.runner)

    def stop(self) -> None:
        self._stop.set()
