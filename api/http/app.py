"""The app factory: services opened once in the lifespan, a tracing middleware, the error mapping, the routers.

Every route but health needs an API key, and the key's principal goes into every retrieval call.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.routing import Route

from citewise.api.http.errors import install_error_handlers, internal_error_response
from citewise.api.http.mcp import http_endpoint
from citewise.api.http.observability import trace_id_var
from citewise.api.http.routers import ROUTERS
from citewise.api.http.services import Services
from citewise.settings import Settings

log = logging.getLogger("citewise.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    services = Services(settings or Settings())
    mcp_server, mcp_endpoint = http_endpoint(services, services.settings.api.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        services.open()
        async with mcp_server.session_manager.run():  # the MCP endpoint's transport
            yield
        services.close()

    app = FastAPI(
        title="Citewise",
        version="0.1",
        description="Grounded, cited answers from your documents.",
        lifespan=lifespan,
    )
    app.state.services = services

    @app.middleware("http")
    async def trace(request: Request, call_next):  # noqa: ANN001, ANN202
        trace_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = trace_id_var.set(trace_id)
        started = time.perf_counter()
        status = 500
        try:
            try:
                response = await call_next(request)
            except Exception:  # noqa: BLE001 - the one place an unexpected error becomes a 500, logged redacted
                response = internal_error_response()
            status = response.status_code
            response.headers["X-Trace-Id"] = trace_id
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            services.metrics.observe(path, status, started)
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": request.method,
                        "route": path,
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                        "key": getattr(request.state, "key_id", None),
                    }
                },
            )
            trace_id_var.reset(token)

    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    # MCP over streamable HTTP (not in the OpenAPI spec: it speaks JSON-RPC), the API key as bearer token.
    app.router.routes.append(Route("/mcp", endpoint=mcp_endpoint, methods=["GET", "POST", "DELETE"]))
    return app
