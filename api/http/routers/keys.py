"""API keys (admin): list the tenant's keys, create one (shown once), revoke one."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.errors import NotFoundError
from citewise.identity import create_key, list_keys, revoke_key
from citewise.identity import key_id as id_of

router = APIRouter(tags=["keys"])


class KeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(None, max_length=200, description="the user the key acts as (an e-mail)")
    groups: list[str] = Field(default_factory=list, max_length=100)
    admin: StrictBool = False


@router.get("/v1/keys", responses=documented(403))
def get_keys(caller: Caller, services: ServicesDep) -> dict:
    require_admin(caller, "listing API keys")
    return {"keys": list_keys(services.db, caller.tenant)}


@router.post("/v1/keys", status_code=201, responses=documented(400, 403))
def post_key(body: KeyBody, caller: Caller, services: ServicesDep) -> dict:
    """A new key of the caller's tenant; the key is in this answer only (only its hash is stored)."""
    require_admin(caller, "creating API keys")
    groups = sorted({g.strip().removeprefix("group:") for g in body.groups if g.strip()})
    key = create_key(services.db, tenant=caller.tenant, user_id=body.user_id or None, groups=groups, admin=body.admin)
    created = next(k for k in list_keys(services.db, caller.tenant) if k["key_id"] == id_of(key))
    return {"key": key, **created}


@router.delete("/v1/keys/{key_id}", status_code=204, responses=documented(403, 404))
def delete_key(key_id: str, caller: Caller, services: ServicesDep) -> None:
    require_admin(caller, "revoking API keys")
    if not revoke_key(services.db, caller.tenant, key_id):
        raise NotFoundError(f"no key {key_id!r} in this tenant")
