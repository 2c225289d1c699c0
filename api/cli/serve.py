"""`citewise serve`: the HTTP API on the data dir's index."""

from __future__ import annotations

from typing import Annotated

import typer

from citewise.api.cli.common import command_group
from citewise.settings import Settings

app = command_group()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default: CITEWISE_API__HOST (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default: CITEWISE_API__PORT (8000)")] = None,
) -> None:
    """Serve the HTTP API (docs at /docs) on the data dir's index."""
    import uvicorn

    from citewise.api.http.app import create_app
    from citewise.api.http.observability import configure_logging

    settings = Settings()
    configure_logging()
    uvicorn.run(
        create_app(settings),
        host=host or settings.api.host,
        port=port or settings.api.port,
        log_level="warning",
        access_log=False,
    )
