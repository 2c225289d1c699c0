"""The one place where errors become HTTP answers: the kernel's error taxonomy mapped to status codes.

Every error body is `{"detail": message, "error": {"message", "type"}, "trace_id"}`.
"""

from __future__ import annotations

import logging
import math
import re
from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    SaturatedError,
    TooLargeError,
    TransientError,
    UpstreamError,
    UpstreamTimeoutError,
    describe,
)
from citewise.redact import redact_secrets

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
    SaturatedError: (503, "saturated"),
    TransientError: (503, "unavailable"),
    CitewiseError: (400, "citewise_error"),
}
log = logging.getLogger("citewise.api")


class ErrorDetail(BaseModel):
    message: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a message a person can act on, a stable type, and the request's trace id."""

    detail: str
    error: ErrorDetail
    trace_id: str


_MEANING = {
    400: "an unknown name (profile, reranker, connector type), or a body that cannot be read",
    401: "missing, invalid or revoked API key",
    403: "the key may not do this",
    404: "not found, or not visible to this key",
    409: "conflicts with what exists",
    413: "over the size limit",
    422: "the request (or an uploaded file) cannot be served; the message says why",
    429: "rate limited; see Retry-After",
    502: "the language model failed",
    503: "not ready, the index is held by another process, or every model server is busy (see Retry-After)",
    504: "the language model did not answer in time",
}


def documented(*codes: int) -> dict[int | str, dict]:
    """OpenAPI `responses` for these error codes (401, 422 and 429 apply to every keyed route)."""
    return {code: {"model": ErrorBody, "description": _MEANING[code]} for code in sorted({401, 422, 429, *codes})}


HTTP_KINDS = {401: "authentication_error", 403: "permission_error", 404: "not_found", 429: "rate_limit_error"}


def status_of(exc: CitewiseError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            status, kind = STATUS[cls]  # type: ignore[index]
            return status, exc.kind if isinstance(exc, DocumentError) else kind
    return 400, "citewise_error"


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    message = redact_secrets(message)  # an upstream URL with a password in it is named, never its password
    return JSONResponse(
        {"detail": message, "error": {"message": message, "type": kind}, "trace_id": trace_id_var.get()},
        status_code=status,
        headers=headers,
    )


def internal_error_response() -> JSONResponse:
    """Any exception no handler knows: logged with the trace id (redacted), answered without details."""
    log.exception("internal error")
    return error_response(500, f"internal error; quote trace id {trace_id_var.get()} to the operator", "internal_error")


@lru_cache(maxsize=1024)
def _path_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")


def _methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI spec documents for a request path."""
    for template, operations in app.openapi()["paths"].items():
        if _path_pattern(template).match(path):
            return sorted(m.upper() for m in operations)
    return []


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CitewiseError)
    async def _citewise(request: Request, exc: CitewiseError) -> JSONResponse:
        status, kind = status_of(exc)
        headers = None
        if isinstance(exc, SaturatedError):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return error_response(status, str(exc), kind, headers=headers)

    @app.exception_handler(ValidationError)
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: ValidationError | RequestValidationError) -> JSONResponse:
        return error_response(422, describe(exc), "invalid_request_error")  # one error shape for every 4xx

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and Starlette's own (404 route, 405, bad JSON)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = HTTP_KINDS.get(exc.status_code, "invalid_request_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # name every method the path has, not only those of one route
            headers["Allow"] = ", ".join(_methods(app, request.url.path)) or headers.get("Allow", "")
        return error_response(exc.status_code, str(exc.detail), kind, headers=headers or None)
