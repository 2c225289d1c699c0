"""Sync jobs in the embedded profile: progress and outcome on the job row, failures, schedules, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from citewise.api.cli.main import app
from citewise.db import init_db
from citewise.errors import ConfigError, ConflictError
from citewise.ingest.jobs import JobStore, run_sync_job, start_sync, submit_due
from citewise.ingest.runners import InProcessRunner
from tests.conftest import DOCS


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    for i in range(5):
        (d / f"doc{i}.txt").write_text(f"Document {i} explains topic number {i} in a sentence or two.")
    (d / "locked.pdf").write_bytes((DOCS / "bad" / "password.pdf").read_bytes())
    return d


def test_in_process_job_records_progress_and_bad_files(settings, encoder, folder):
    from citewise.ingest.pipeline import Ingestor

    store = JobStore(init_db(settings.db_url))
    conn = store.add_connector("docs", "filesystem", {"path": str(folder)}, tenant="acme", acl=[], interval_s=None)
    ingestor = Ingestor(settings, encoder=encoder)
    runner = InProcessRunner(settings, ingestor)
    job_id = start_sync(store, conn.id, runner)
    runner.wait(job_id)
    job = store.job(job_id)
    assert job.status == "succeeded" and job.backend == "inprocess" and job.attempts == 1
    assert (job.total, job.done, job.failed) == (6, 6, 1) and job.chunks >= 5
    assert job.errors[0]["path"].endswith("locked.pdf") and "encrypted" in job.errors[0]["error"]
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert {p.payload.tenant for p in ingestor.store.scroll()} == {"acme"}
    # idempotent: a second run of the same job converges to the same index
    again = run_sync_job(job_id, settings=settings, ingestor=ingestor)
    assert again.status == "succeeded" and again.attempts == 2 and ingestor.store.count() == job.chunks
    runner.shutdown()
    ingestor.close()


def test_a_job_that_cannot_run_is_failed_with_its_error(settings, tmp_path):
    store = JobStore(init_db(settings.db_url))
    with pytest.raises(ConfigError, match="no such file or folder"):  # checked against the source when added
        store.add_connector("x", "filesystem", {"path": str(tmp_path / "missing")}, tenant="t", acl=[], interval_s=None)
    (tmp_path / "missing").mkdir()
    conn = store.add_connector("gone", "filesystem", {"path": str(tmp_path / "missing")}, tenant="t", acl=[],
                               interval_s=None)  # fmt: skip
    (tmp_path / "missing").rmdir()  # the source goes away after it was added
    job_id = store.create_job(conn.id, "inprocess")
    with pytest.raises(Exception):  # noqa: B017 - the runner sees the error; the job row records it
        run_sync_job(job_id, settings=settings)
    job = store.job(job_id)
    assert job.status == "failed" and "missing" in job.error and job.finished_at


def test_connector_validation_and_schedules(settings, tmp_path):
    store = JobStore(init_db(settings.db_url))
    with pytest.raises(ConfigError, match="unknown connector type"):
        store.add_connector("x", "dropbox", {}, tenant="t", acl=[], interval_s=None)
    store.add_connector("every", "filesystem", {"path": str(tmp_path)}, tenant="t", acl=[], interval_s=600)
    store.add_connector("manual", "filesystem", {"path": str(tmp_path)}, tenant="t", acl=[], interval_s=None)
    with pytest.raises(ConflictError, match="exists already"):
        store.add_connector("every", "filesystem", {"path": str(tmp_path)}, tenant="t", acl=[], interval_s=None)
    # names are per tenant: another tenant may use the same one, and cannot see or remove the first
    other = store.add_connector("every", "filesystem", {"path": str(tmp_path)}, tenant="u", acl=[], interval_s=None)
    assert store.connector("every", tenant="u").id == other.id
    assert store.connector("every", tenant="t").id != other.id
    assert store.connector(other.id, tenant="t") is None
    with pytest.raises(ConfigError, match="2 tenants have a connector named 'every'"):
        store.connector("every")
    assert not store.remove_connector("every", tenant="v")
    assert store.remove_connector("every", tenant="u") and store.connector("every").tenant == "t"

    class Recorder:
        backend = "test"
        submitted: list[str] = []

        def submit(self, job_id: str) -> None:
            self.submitted.append(job_id)

    runner = Recorder()
    first = submit_due(store, runner)
    assert len(first) == 1 and store.job(first[0]).connector == "every"
    assert submit_due(store, runner) == []  # not due again yet
    assert len(submit_due(store, runner, now=datetime.now(UTC) + timedelta(seconds=601))) == 1
    assert store.remove_connector("every") and store.connector("every") is None


def test_connectors_and_jobs_cli(tmp_path, monkeypatch, folder):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(
        app, ["connectors", "add", "docs", "--type", "filesystem", "--config", f"path={folder}", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["config"] == {"path": str(folder)}
    r = runner.invoke(app, ["connectors", "sync", "docs", "--wait", "--json"])
    assert r.exit_code == 0, r.output
    job = json.loads(r.stdout)
    assert job["status"] == "succeeded" and job["failed"] == 1
    listed = json.loads(runner.invoke(app, ["jobs", "--json", "--connector", "docs"]).stdout)
    assert [j["id"] for j in listed] == [job["id"]]
    assert runner.invoke(app, ["search", "topic number 3", "--json"]).exit_code == 0
    assert runner.invoke(app, ["connectors", "remove", "docs"]).exit_code == 0
    r = runner.invoke(app, ["connectors", "sync", "docs"])
    assert r.exit_code == 2 and "no connector named" in r.output


def test_one_sync_per_connector_at_a_time(settings):
    import threading

    from filelock import Timeout

    from citewise.ingest.jobs import connector_lock

    held, release = threading.Event(), threading.Event()

    def first() -> None:
        with connector_lock(settings, "c1"):
            held.set()
            release.wait(5)

    t = threading.Thread(target=first)
    t.start()
    assert held.wait(5)
    with pytest.raises(Timeout):
        with connector_lock(settings, "c1", wait_s=0.2):
            pass
    with connector_lock(settings, "c2", wait_s=0.2):  # other connectors are not blocked
        pass
    release.set()
    t.join()
    with connector_lock(settings, "c1", wait_s=0.2):  # free again
        pass


def test_embedded_scheduler_starts_due_syncs(settings, tmp_path):
    import time

    from citewise.ingest.runners import Scheduler

    store = JobStore(init_db(settings.db_url))
    store.add_connector("hourly", "filesystem", {"path": str(tmp_path)}, tenant="t", acl=[], interval_s=3600)

    class Recorder:
        backend = "test"

        def __init__(self) -> None:
            self.submitted: list[str] = []

        def submit(self, job_id: str) -> None:
            self.submitted.append(job_id)

    runner = Recorder()
    scheduler = Scheduler(store, runner, every_s=0.05)
    scheduler.start()
    time.sleep(0.5)
    scheduler.stop()
    assert len(runner.submitted) == 1  # due once, then not again within the hour


def test_the_in_process_runner_retries_transient_errors_only(settings, monkeypatch):
    from citewise.errors import TransientError
    from citewise.ingest import runners

    calls = []

    def flaky(job_id, **kwargs):  # noqa: ANN001, ANN202
        calls.append(job_id)
        if job_id == "flaky" and len(calls) < 3:
            raise TransientError("the source is briefly down")
        if job_id == "broken":
            raise ConfigError("wrong password")

    monkeypatch.setattr(runners, "run_sync_job", flaky)
    settings.jobs.retry_base_s = 0
    runner = runners.InProcessRunner(settings)
    runner._run("flaky")
    assert calls == ["flaky"] * 3
    calls.clear()
    with pytest.raises(ConfigError):
        runner._run("broken")
    assert calls == ["broken"]
    runner.shutdown()
