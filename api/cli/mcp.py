"""`citewise mcp`: Citewise's search, ask and read_document as MCP tools over stdio."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from citewise.api.cli.common import command_group, fail
from citewise.settings import Settings

app = command_group(help="MCP server (stdio) with search, ask and read_document, scoped to one API key.")


@app.command("mcp")
def mcp(
    key: Annotated[str | None, typer.Option(help="the API key (default: CITEWISE_API_KEY)")] = None,
    url: Annotated[
        str | None, typer.Option(help="a running Citewise server; without it, this process opens the data dir")
    ] = None,
) -> None:
    """Serve MCP over stdio. Every tool call is made as the key's principal."""
    from citewise.api.http.mcp import LocalBackend, RemoteBackend, stdio_server

    key = key or os.environ.get("CITEWISE_API_KEY")
    if not key:
        fail("an API key is needed: --key or CITEWISE_API_KEY")
    backend = RemoteBackend(url, key) if url else LocalBackend.open(Settings(), key)
    stdio_server(backend).run("stdio")
