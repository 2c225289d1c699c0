"""Where jobs run: an in-process pool (embedded default) or Celery workers, chosen by CITEWISE_JOBS__BACKEND.

Both run `citewise.ingest.jobs.run_sync_job`; only the transport differs. Scheduled syncs use the same
`submit_due` from a timer thread (embedded) or Celery beat (scale-out).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext

from citewise.errors import TransientError
from citewise.ingest.jobs import JobRunner, JobStore, run_sync_job, submit_due
from citewise.settings import Settings

TRANSIENT = (TransientError, ConnectionError, TimeoutError)


class InProcessRunner:
    """One worker thread: the embedded index allows one writer, and the caller's ingestor is reused."""

    backend = "inprocess"

    def __init__(self, settings: Settings, ingestor=None, write_lock=None) -> None:  # noqa: ANN001
        """`write_lock`: held around each job when other code (API uploads) writes through the same ingestor."""
        self.settings = settings
        self.ingestor = ingestor
        self.write_lock = write_lock or nullcontext()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewise-job")
        self.futures: dict[str, Future] = {}

    def _run(self, job_id: str) -> None:
        """A transient error (source or index briefly unavailable) retries with exponential backoff, up to
        `jobs.max_retries`, as the Celery task does; any other error fails the job with its reason."""
        from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

        @retry(
            retry=retry_if_exception_type(TRANSIENT),
            stop=stop_after_attempt(self.settings.jobs.max_retries + 1),
            wait=wait_exponential(multiplier=self.settings.jobs.retry_base_s, max=60),
            reraise=True,
        )
        def attempt() -> None:
            with self.write_lock:
                run_sync_job(job_id, settings=self.settings, ingestor=self.ingestor)

        attempt()

    def submit(self, job_id: str) -> None:
        self.futures = {k: f for k, f in self.futures.items() if not f.done()}  # a server runs for months
        self.futures[job_id] = self._pool.submit(self._run, job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        future = self.futures.get(job_id)
        if future is not None:
            future.exception(timeout)  # the job row holds the outcome; this only waits

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def make_runner(settings: Settings, ingestor=None, write_lock=None) -> JobRunner:  # noqa: ANN001
    if settings.jobs.backend == "celery":
        from citewise.ingest.worker import CeleryRunner  # Celery is imported only by who uses it

        return CeleryRunner(settings)
    return InProcessRunner(settings, ingestor, write_lock)


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
