"""`citewise connectors`: data sources synced as jobs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from citewise.api.cli.common import JsonOpt, TenantOpt, command_group, fail
from citewise.settings import Settings

app = command_group(help="Data sources synced as jobs.")


def job_store():  # noqa: ANN202
    from citewise.ingest.jobs import JobStore

    return JobStore.for_settings(Settings())


def parse_config(pairs: list[str]) -> dict:
    """`key=value` pairs; `key=@FILE` reads the value from a file (a service account key, say), as curl does."""
    from pathlib import Path

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--config {pair!r}: expected key=value")
        if value.startswith("@"):
            try:
                value = Path(value[1:]).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                fail(f"--config {key.strip()}: cannot read {value[1:]}: {exc.strerror or exc}")
        out[key.strip()] = value
    return out


@app.command("add")
def connectors_add(
    name: Annotated[str, typer.Argument(help="a name unique within the tenant")],
    type_: Annotated[str, typer.Option("--type", help="connector type, e.g. filesystem or jsonl")],
    config: Annotated[list[str] | None, typer.Option("--config", help="key=value, e.g. path=/srv/docs")] = None,
    tenant: Annotated[str, typer.Option()] = "default",
    acl: Annotated[list[str] | None, typer.Option(help="user:NAME or group:NAME; repeatable")] = None,
    interval: Annotated[int | None, typer.Option(min=60, help="sync every N seconds")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a connector (synced with `connectors sync`, or on its interval by the scheduler)."""
    info = job_store().add_connector(
        name, type_, parse_config(config or []), tenant=tenant, acl=acl or [], interval_s=interval
    )
    typer.echo(info.model_dump_json() if as_json else f"added {info.name} ({info.type}, id {info.id})")


@app.command("types")
def connectors_types(as_json: JsonOpt = False) -> None:
    """The installed connector types with their options (JSON schema; credentials marked secret)."""
    from citewise.connectors.registry import connector_types

    types = connector_types()
    if as_json:
        typer.echo(json.dumps(types))
        return
    for name, info in types.items():
        typer.echo(f"{name}: {info['description']}")
        required = set(info["schema"].get("required", []))
        for option, spec in info["schema"].get("properties", {}).items():
            tags = ", ".join(
                t
                for t in ("required" if option in required else "", "secret" if option in info["secrets"] else "")
                if t
            )
            typer.echo(f"  {option}{f' ({tags})' if tags else ''}: {spec.get('description', '')}")


@app.command("rotate-key")
def connectors_rotate_key() -> None:
    """Re-encrypt every stored credential under the newest key (the first of CITEWISE_SECURITY__SECRET_KEYS)."""
    typer.echo(f"re-encrypted the credentials of {job_store().rotate_secrets()} connectors")


@app.command("list")
def connectors_list(as_json: JsonOpt = False) -> None:
    """The registered connectors."""
    infos = job_store().connectors()
    if as_json:
        typer.echo(json.dumps([i.model_dump() for i in infos]))
        return
    for i in infos:
        every = f", every {i.interval_s} s" if i.interval_s else ""
        secrets = f" credentials: {', '.join(i.secrets)}" if i.secrets else ""
        typer.echo(f"{i.name}: {i.type} {json.dumps(i.config)} tenant {i.tenant}{every}{secrets}")


@app.command("remove")
def connectors_remove(name: Annotated[str, typer.Argument(help="name or id")], tenant: TenantOpt = None) -> None:
    """Forget a connector and its jobs (its documents stay in the index until deleted)."""
    removed = job_store().remove_connector(name, tenant)
    if not removed:
        fail(f"no connector named {name!r}")
    typer.echo(f"removed {name}")


@app.command("sync")
def connectors_sync(
    name: Annotated[str, typer.Argument(help="name or id")],
    tenant: TenantOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="return when the job ends")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start a sync job (in this process, or on the Celery workers with CITEWISE_JOBS__BACKEND=celery)."""
    import time

    from citewise.ingest.jobs import start_sync
    from citewise.ingest.runners import InProcessRunner, make_runner

    settings = Settings()
    store = job_store()
    connector = store.require_connector(name, tenant)
    runner = make_runner(settings)
    job_id = start_sync(store, connector.id, runner)
    if isinstance(runner, InProcessRunner):
        runner.wait(job_id)  # the embedded pool lives in this process: it must finish before we exit
        runner.shutdown()
    elif wait:
        while store.job(job_id).status in ("queued", "running"):
            time.sleep(0.5)
    job = store.job(job_id)
    typer.echo(
        job.model_dump_json() if as_json else f"job {job.id}: {job.status}, {job.done} done, {job.failed} failed"
    )
    if job.status == "failed":
        raise typer.Exit(1)
