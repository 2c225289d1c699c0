"""Liveness, readiness and Prometheus metrics: no key needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from citewise.api.http.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready (the index cannot be read)"}})
def readyz(services: ServicesDep) -> JSONResponse:
    try:
        points = services.ingestor.store.count()
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as not ready
        return JSONResponse({"status": "not ready", "reason": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ready", "points": points})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(services: ServicesDep) -> PlainTextResponse:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return PlainTextResponse(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
