"""The root `citewise` command: one module per command group, merged here."""

from __future__ import annotations

import logging
import sys

from citewise.api.cli import (
    audit,
    bench,
    connectors,
    documents,
    evaluate,
    identities,
    jobs,
    keys,
    mcp,
    models,
    reindex,
    review,
    serve,
)
from citewise.api.cli.common import command_group

app = command_group(help="Citewise: cited answers from your documents.")
for commands in (documents.app, serve.app, jobs.app, mcp.app, reindex.app):  # top-level commands
    app.add_typer(commands)
app.add_typer(bench.app, name="bench")
app.add_typer(models.app, name="models")
app.add_typer(keys.app, name="keys")
app.add_typer(identities.app, name="identities")
app.add_typer(connectors.app, name="connectors")
app.add_typer(evaluate.app, name="eval")
app.add_typer(audit.app, name="audit")
app.add_typer(review.app, name="review")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
