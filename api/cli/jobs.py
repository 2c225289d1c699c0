"""`citewise jobs` and `citewise worker`: sync jobs and the Celery worker that runs them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from citewise.api.cli.common import JsonOpt, TenantOpt, command_group
from citewise.api.cli.connectors import job_store
from citewise.settings import Settings

app = command_group()


@app.command()
def jobs(
    connector: Annotated[str | None, typer.Option(help="only this connector's jobs")] = None,
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent sync jobs with their progress and errors."""
    store = job_store()
    cid = store.require_connector(connector, tenant).id if connector else None
    rows = store.jobs(cid, tenant=tenant)
    if as_json:
        typer.echo(json.dumps([j.model_dump(mode="json") for j in rows]))
        return
    for j in rows:
        typer.echo(f"{j.id} {j.connector}: {j.status} {j.done}/{j.total} done, {j.failed} failed ({j.backend})")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="worker threads")] = 1,
    beat: Annotated[bool, typer.Option("--beat", help="also run the scheduler (Celery beat) in this process")] = False,
) -> None:
    """A Celery worker for sync jobs (broker: CITEWISE_JOBS__BROKER_URL)."""
    from citewise.ingest.worker import make_celery

    argv = ["worker", "--pool", "threads", "--concurrency", str(concurrency), "--loglevel", "INFO", "-Q", "citewise"]
    if beat:
        argv.append("--beat")
    make_celery(Settings()).worker_main(argv)
