"""The one place where errors become HTTP answers: the kernel's error taxonomy mapped to status codes.

Every error body is `{"detail": message, "error": {"message", "type"}, "trace_id"}`.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from citewise.api.http.observability import trace_id_var
from citewise.errors import (
    CitewiseError,
    ConfigError,
    ConflictError,
    DocumentError,
    IndexLockedError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    TooLargeError,
    TransientError,
    UpstreamError,
    UpstreamTimeoutError,
    describe,
)

# The nearest class in the exception's MRO wins, so order here does not matter.
STATUS: dict[type[CitewiseError], tuple[int, str]] = {
    DocumentError: (422, "document_error"),  # the body's type is the document error's own kind
    ConfigError: (400, "invalid_request_error"),
    TooLargeError: (413, "too_large"),
    InvalidInputError: (422, "invalid_request_error"),
    NotFoundError: (404, "not_found"),
    ConflictError: (409, "conflict"),
    PermissionDeniedError: (403, "permission_error"),
    ProviderError: (502, "provider_error"),
    UpstreamTimeoutError: (504, "upstream_timeout"),
    UpstreamError: (502, "upstream_error"),
    IndexLockedError: (503, "index_locked"),
    TransientError: (503, "unavailable"),
    CitewiseError: (400, "citewise_error"),
}
HTTP_KINDS = {401: "authentication_error", 403: "permission_error", 404: "not_found", 429: "rate_limit_error"}


def status_of(exc: CitewiseError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            status, kind = STATUS[cls]  # type: ignore[index]
            return status, exc.kind if isinstance(exc, DocumentError) else kind
    return 400, "citewise_error"


def error_response(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"detail": message, "error": {"message": message, "type": kind}, "trace_id": trace_id_var.get()},
        status_code=status,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CitewiseError)
    async def _citewise(request: Request, exc: CitewiseError) -> JSONResponse:
        status, kind = status_of(exc)
        return error_response(status, str(exc), kind)

    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: ValidationError) -> JSONResponse:
        return error_response(422, describe(exc), "invalid_request_error")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = HTTP_KINDS.get(exc.status_code, "invalid_request_error")
        return error_response(exc.status_code, str(exc.detail), kind)
