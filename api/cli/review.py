"""`citewise review`: the queue of answers a person should look at, and its export as a QA file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from citewise.api.cli.common import JsonOpt, command_group
from citewise.settings import Settings

app = command_group(help="The review queue: flagged or down-rated answers, resolved into regression tests.")
TenantOpt = Annotated[str, typer.Option()]


def _queue():  # noqa: ANN202
    import citewise.api.orchestration.review as review
    from citewise.db import init_db

    return review.ReviewQueue(init_db(Settings().db_url))


@app.command("list")
def review_list(
    tenant: TenantOpt = "default",
    status: Annotated[str, typer.Option(help="open | resolved | all")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Items of a tenant's queue, newest first."""
    for item in _queue().items(tenant, None if status == "all" else status, limit):
        if as_json:
            typer.echo(item.model_dump_json())
        else:
            typer.echo(f"#{item.id} {item.at:%Y-%m-%d %H:%M} {','.join(item.reasons)} | {item.question or '-'}")


@app.command("resolve")
def review_resolve(
    item_id: Annotated[int, typer.Argument()],
    tenant: TenantOpt = "default",
    expected: Annotated[str | None, typer.Option(help="the answer it should have given")] = None,
    refuse: Annotated[bool, typer.Option("--refuse", help="it should have been refused")] = False,
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Record the verdict on one item."""
    item = _queue().resolve(tenant, item_id, expected_answer=expected, should_refuse=refuse, note=note)
    typer.echo(f"#{item.id} resolved")


@app.command("export")
def review_export(
    out: Annotated[Path, typer.Argument(help="the QA JSONL file to write (citewise eval answers reads it)")],
    tenant: TenantOpt = "default",
) -> None:
    """Resolved items as QA lines: reviewed failures become regression tests."""
    rows = _queue().export(tenant)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    typer.echo(f"wrote {len(rows)} questions to {out}")
