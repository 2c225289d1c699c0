"""Connectors and their sync jobs: admins add and sync; reads are scoped to the caller's tenant."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.connectors.paths import PathPolicy
from citewise.ingest.jobs import ConnectorInfo, start_sync

router = APIRouter(tags=["connectors"])
SECRET_OPTION = re.compile(r"(?i)pass|secret|token|key|credential|auth")


def shown(info: ConnectorInfo, *, admin: bool) -> dict:
    """A connector as a caller may see it: configs are for admins only; credentials are never returned
    (they are not in `config`; an option merely named like one is masked too)."""
    out = info.model_dump()
    out["config"] = {k: "***" if SECRET_OPTION.search(k) else v for k, v in info.config.items()} if admin else {}
    out["secrets"] = info.secrets if admin else []
    return out


class ConnectorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: str
    config: dict[str, Any] = Field(default_factory=dict)
    acl: list[str] = Field(default_factory=list)
    interval_s: StrictInt | None = Field(None, ge=60)


@router.get("/v1/connector-types", responses=documented())
def list_connector_types(caller: Caller) -> dict:
    """The installed connector types: description, options as JSON schema, which options are credentials."""
    from citewise.connectors.registry import connector_types

    return {"types": connector_types()}


@router.post("/v1/connectors", status_code=201, responses=documented(400, 403, 409))
def add_connector(body: ConnectorBody, caller: Caller, services: ServicesDep) -> dict:
    require_admin(caller, "adding connectors")
    settings = services.settings
    policy = PathPolicy.for_tenant(settings.api.connector_roots, caller.tenant, settings.data_dir)
    info = services.jobs.add_connector(
        body.name,
        body.type,
        body.config,
        tenant=caller.tenant,
        acl=body.acl,
        interval_s=body.interval_s,
        path_policy=policy,
    )
    return shown(info, admin=True)


@router.get("/v1/connectors", responses=documented())
def list_connectors(caller: Caller, services: ServicesDep) -> dict:
    return {"connectors": [shown(c, admin=caller.admin) for c in services.jobs.connectors(caller.tenant)]}


@router.post("/v1/connectors/{connector_id}/sync", status_code=202, responses=documented(403, 404))
def sync_connector(connector_id: str, caller: Caller, services: ServicesDep) -> dict:
    require_admin(caller, "starting syncs")
    connector = services.jobs.require_connector(connector_id, tenant=caller.tenant)
    job_id = start_sync(services.jobs, connector.id, services.runner)
    return {"job_id": job_id, "status": "queued"}


@router.get("/v1/jobs/{job_id}", responses=documented(404))
def get_job(job_id: str, caller: Caller, services: ServicesDep) -> dict:
    return services.jobs.require_job(job_id, tenant=caller.tenant).model_dump(mode="json")


@router.get("/v1/jobs", responses=documented(404))
def list_jobs(caller: Caller, services: ServicesDep, connector: str | None = None) -> dict:
    cid = services.jobs.require_connector(connector, tenant=caller.tenant).id if connector else None
    return {"jobs": [j.model_dump(mode="json") for j in services.jobs.jobs(cid, tenant=caller.tenant)]}
