"""`citewise audit`: the audit log of answers (one row per answer), and its retention."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from citewise.api.cli.common import JsonOpt, command_group
from citewise.settings import Settings

app = command_group(help="The audit log: one row per answer (who, when, sources, template, endpoint, cost).")


def _log():  # noqa: ANN202
    import citewise.api.orchestration.audit as audit
    from citewise.db import init_db

    settings = Settings()
    return audit.AuditLog(init_db(settings.db_url), settings.telemetry)


@app.command("list")
def audit_list(
    tenant: Annotated[str, typer.Option()] = "default",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    user: Annotated[str | None, typer.Option(help="only this user's answers")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The newest answers of a tenant, newest first."""
    rows = _log().entries(tenant, limit=limit, user_id=user)
    if as_json:
        for row in rows:
            typer.echo(row.model_dump_json())
        return
    for r in rows:
        sources = ",".join(s.title for s in r.sources) or "-"
        typer.echo(
            f"{r.at:%Y-%m-%d %H:%M:%S} {r.user_id or '-'} {r.outcome:<10} {r.profile}/{r.endpoint or '-'} "
            f"{r.template or '-'} tokens={r.prompt_tokens + r.completion_tokens} cost={r.cost:.6f} "
            f"sources={sources} flags={json.dumps(r.flags)}"
        )


@app.command("prune")
def audit_prune() -> None:
    """Delete rows older than telemetry.audit_retention_days (also done hourly by the server)."""
    typer.echo(f"deleted {_log().prune()} rows")
