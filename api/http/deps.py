"""Shared route dependencies: the services, and the caller's identity from its API key (then the rate limit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from citewise.api.http.services import Services
from citewise.errors import PermissionDeniedError
from citewise.identity import Identity, lookup


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def identity(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Identity:
    """The caller's principal from its API key; then the per-key rate limit (429)."""
    services: Services = request.app.state.services
    key = x_api_key
    if not key and authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    found = lookup(services.db, key)
    if found is None:
        raise HTTPException(401, "invalid or revoked API key")
    request.state.key_id = found.key_id
    verdict = services.rate_limit.run("", found.key_id)
    if verdict.action == "block":
        raise HTTPException(429, verdict.detail, headers={"Retry-After": str(verdict.retry_after_s or 60)})
    return found


Caller = Annotated[Identity, Depends(identity)]


def require_admin(caller: Identity, doing: str) -> None:
    if not caller.admin:
        raise PermissionDeniedError(f"{doing} needs an admin key")
