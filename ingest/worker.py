"""The Celery app: `citewise worker` runs it; tasks call the same job function as the in-process pool.

Late acks + reject-on-worker-lost: a task whose worker dies is redelivered (after the broker's visibility
timeout) and, being idempotent, converges the index. Transient errors retry with exponential backoff; bad
documents never raise (they are reported in the job).
"""

from __future__ import annotations

import threading
from contextlib import nullcontext

from celery import Celery

from citewise.errors import TransientError
from citewise.settings import Settings

TRANSIENT = (TransientError, ConnectionError, TimeoutError, OSError)
_ingestors: dict[str, object] = {}
_ingestor_lock = threading.Lock()
_sync_lock = threading.Lock()


def shared_ingestor(settings: Settings):  # noqa: ANN201
    """One ingestor per worker process: local indexes (Edge, qdrant-client local) allow one opener."""
    from citewise.ingest.pipeline import Ingestor

    with _ingestor_lock:
        key = settings.index_path().as_posix() + (settings.index.url or "")
        if key not in _ingestors:
            _ingestors[key] = Ingestor(settings)
        return _ingestors[key]


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    app = Celery("citewise", broker=settings.jobs.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": settings.jobs.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        task_default_queue="citewise",
        worker_hijack_root_logger=False,
        beat_schedule={
            "citewise-scheduled-syncs": {"task": "citewise.schedule", "schedule": settings.jobs.schedule_check_s}
        },
    )

    @app.task(name="citewise.sync", bind=True, max_retries=settings.jobs.max_retries)
    def sync(self, job_id: str) -> dict:  # noqa: ANN001
        from citewise.ingest.jobs import run_sync_job

        try:
            ingestor = shared_ingestor(settings)
            one_writer = _sync_lock if not settings.index.url else nullcontext()  # a local index: one at a time
            with one_writer:
                return run_sync_job(job_id, settings=settings, ingestor=ingestor).model_dump(mode="json")
        except TRANSIENT as exc:
            raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc

    @app.task(name="citewise.schedule")
    def schedule() -> list[str]:
        from citewise.ingest.jobs import JobStore, submit_due

        return submit_due(JobStore.for_settings(settings), CeleryRunner(app=app))

    return app


class CeleryRunner:
    """Sends jobs to the Celery workers."""

    backend = "celery"

    def __init__(self, settings: Settings | None = None, *, app: Celery | None = None) -> None:
        """Sends to `app` (a worker's own, for beat) or to an app built from `settings`."""
        self.app = app or make_celery(settings)

    def submit(self, job_id: str) -> None:
        self.app.send_task("citewise.sync", args=[job_id])
