"""`citewise identities`: link source user ids (`user:jira:<id>`) to users, for sources that hide e-mails."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from citewise.api.cli.common import JsonOpt, command_group
from citewise.settings import Settings

app = command_group(help="Identity links: which source user ids are which user (applied at lookup, no sync).")
Tenant = Annotated[str, typer.Option(help="the tenant")]


def _db():  # noqa: ANN202
    from citewise.db import init_db

    return init_db(Settings().db_url)


@app.command("link")
def identities_link(
    external: Annotated[str, typer.Argument(help="the id as ACLs carry it: user:<source>:<id>")],
    user: Annotated[str, typer.Argument(help="the user's e-mail, as their API keys name it")],
    tenant: Tenant = "default",
) -> None:
    """Link a source user id to a user (replacing an earlier link of that id)."""
    from citewise.identity import link_identity

    link_identity(_db(), tenant, external, user)
    typer.echo(f"{external} -> user:{user.removeprefix('user:')}")


@app.command("unlink")
def identities_unlink(external: str, tenant: Tenant = "default") -> None:
    from citewise.errors import NotFoundError
    from citewise.identity import unlink_identity

    if not unlink_identity(_db(), tenant, external):
        raise NotFoundError(f"no identity link for {external!r}")
    typer.echo(f"unlinked {external}")


@app.command("list")
def identities_list(tenant: Tenant = "default", as_json: JsonOpt = False) -> None:
    from citewise.identity import list_links

    links = list_links(_db(), tenant)
    if as_json:
        typer.echo(json.dumps(links))
        return
    for link in links:
        typer.echo(f"{link['external']}\tuser:{link['user_id']}")
