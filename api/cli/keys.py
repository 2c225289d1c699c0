"""`citewise keys`: API keys for the HTTP API (printed once, stored hashed)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from citewise.api.cli.common import JsonOpt, command_group
from citewise.settings import Settings

app = command_group(help="API keys for the HTTP API.")


@app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option()] = "default",
    user: Annotated[str | None, typer.Option(help="the user this key acts as")] = None,
    group: Annotated[list[str] | None, typer.Option(help="a group of that user; repeatable")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="may manage documents and connectors")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    import citewise.identity as identity
    from citewise.db import init_db

    key = identity.create_key(init_db(Settings().db_url), tenant=tenant, user_id=user, groups=group or [], admin=admin)
    if as_json:
        typer.echo(json.dumps({"key": key}))
    else:
        typer.echo(key)
        typer.echo(
            f"(tenant {tenant}, user {user or '-'}, groups {', '.join(group or []) or '-'}"
            f"{', admin' if admin else ''}; store it now: it is not shown again)",
            err=True,
        )


@app.command("local")
def keys_local() -> None:
    """The local admin key of this data dir (created on first use, kept in DATA_DIR/local-api-key, mode 600),
    with a curl example: what `make run` prints before serving."""
    import os

    import citewise.identity as identity
    from citewise.db import init_db

    settings = Settings()
    db = init_db(settings.db_url)
    path = settings.data_dir / "local-api-key"
    key = path.read_text().strip() if path.is_file() else ""
    if not key or identity.lookup(db, key) is None:
        key = identity.create_key(db, tenant="default", user_id="local", groups=[], admin=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        os.chmod(path, 0o600)
    base = f"http://{settings.api.host}:{settings.api.port}"
    typer.echo(f"API key (tenant default, admin): {key}")
    typer.echo(f"Web UI: {base}/   (sign in with the key above)")
    typer.echo(f"Docs: {base}/docs   Try:")
    typer.echo(
        f"  curl -s {base}/v1/chat -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
        """    -d '{"question": "How does Citewise keep deleted files out of search results?"}'"""
    )
