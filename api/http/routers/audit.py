"""GET /v1/audit: one row per answer of the admin's tenant, newest first (page with `before_id`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.api.orchestration.audit import AuditEntry

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", responses=documented(403))
def audit(
    caller: Caller,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    user_id: Annotated[str | None, Query(max_length=200)] = None,
) -> list[AuditEntry]:
    require_admin(caller, "reading the audit log")
    return services.audit.entries(caller.tenant, limit=limit, before_id=before_id, user_id=user_id)
