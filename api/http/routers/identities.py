"""Identity links (admin): which source user ids (`user:jira:<id>`) are which Citewise user."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.errors import NotFoundError
from citewise.identity import link_identity, list_links, unlink_identity

router = APIRouter(tags=["identities"])


class LinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external: str = Field(min_length=3, max_length=400, description="as the ACLs carry it: user:<source>:<id>")
    user_id: str = Field(min_length=1, max_length=200, description="the user's e-mail, as their API keys name it")


@router.get("/v1/me")
def me(caller: Caller) -> dict:
    """Who this key is: tenant, user, groups (synced ones included), linked source ids, admin or not."""
    return {"tenant": caller.tenant, "user_id": caller.user_id, "groups": caller.groups, "aliases": caller.aliases,
            "admin": caller.admin, "key_id": caller.key_id}  # fmt: skip


@router.get("/v1/identities", responses=documented(403))
def get_links(caller: Caller, services: ServicesDep) -> dict:
    """The tenant's identity links."""
    require_admin(caller, "reading identity links")
    return {"links": list_links(services.db, caller.tenant)}


@router.put("/v1/identities", responses=documented(400, 403))
def put_link(body: LinkBody, caller: Caller, services: ServicesDep) -> dict:
    """Link a source user id to a user (replacing its previous link); applies at the user's next request."""
    require_admin(caller, "linking identities")
    link_identity(services.db, caller.tenant, body.external, body.user_id)
    return {"external": body.external, "user_id": body.user_id.removeprefix("user:")}


@router.delete("/v1/identities/{external}", status_code=204, responses=documented(403, 404))
def delete_link(external: str, caller: Caller, services: ServicesDep) -> None:
    require_admin(caller, "unlinking identities")
    if not unlink_identity(services.db, caller.tenant, external):
        raise NotFoundError(f"no identity link for {external!r}")
