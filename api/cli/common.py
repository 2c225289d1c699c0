"""What the command modules share: the error handling (once, for every command), options, and `fail`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from citewise.errors import CitewiseError, describe


class CitewiseGroup(TyperGroup):
    """Turns any CitewiseError (or invalid settings) raised by a command into `error: <message>`, exit 2."""

    def invoke(self, ctx):  # noqa: ANN001, ANN201
        try:
            return super().invoke(ctx)
        except (CitewiseError, ValidationError) as exc:
            typer.echo(f"error: {describe(exc)}", err=True)
            raise typer.Exit(2) from exc


def command_group(**kwargs: object) -> typer.Typer:
    return typer.Typer(cls=CitewiseGroup, no_args_is_help=True, add_completion=False, **kwargs)  # type: ignore[arg-type]


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def log_to_stderr(message: str) -> None:
    typer.echo(message, err=True)


def print_result(result: dict, as_json: bool) -> None:
    """A benchmark's figures: one JSON line with --json, indented otherwise."""
    typer.echo(json.dumps(result, indent=None if as_json else 2))


JsonOpt = Annotated[bool, typer.Option("--json")]
# Options shared by the commands that run over a BEIR dataset.
BeirArg = Annotated[Path, typer.Argument(help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv")]
SplitOpt = Annotated[str, typer.Option(help="qrels split")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="first N queries only")]
ConfigsOpt = Annotated[
    str, typer.Option(help="comma-separated MODE[:FUSION][+RERANKER], e.g. dense,sparse,hybrid:rrf+fusion")
]
# Connector names are unique per tenant; the CLI (a local admin) names the tenant when a name repeats.
TenantOpt = Annotated[str | None, typer.Option(help="the connector's tenant (names repeat across tenants)")]
