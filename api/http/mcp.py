"""Citewise as an MCP server (the official `mcp` SDK): tools `search`, `ask` and `read_document`, every call
made as the principal of one API key.

Two backends behind one Protocol: `RemoteBackend` calls a running Citewise server's HTTP API (so it runs
beside `citewise serve` on the same data dir, which the server holds), `LocalBackend` opens the data dir
itself. Either way the key's principal goes into every retrieval call: the scoping is the API's own. Text
that goes back to the client's model is data: instruction-like sentences in passages are neutralised.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import httpx
from mcp.server.mcpserver import Context, MCPServer  # module level: the SDK reads the tools' annotations

from citewise.api.orchestration import guardrails as guards
from citewise.errors import CitewiseError, NotFoundError, PermissionDeniedError, UpstreamError
from citewise.settings import Settings


class Backend(Protocol):
    def search(self, query: str, k: int) -> list[dict[str, Any]]: ...

    def ask(self, question: str) -> dict[str, Any]: ...

    def read_document(self, doc_id: str) -> dict[str, Any]: ...


def _clean(text: str) -> str:
    return guards.neutralise_source(text)[0]


def _hit(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("doc_id", "chunk_id", "title", "path", "page", "score")
    return {**{k: row.get(k) for k in keep}, "text": _clean(row.get("text", ""))}


class RemoteBackend:
    """Through a running server's HTTP API, with the key as the bearer token."""

    def __init__(self, url: str, key: str) -> None:
        self.client = httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, timeout=120)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Citewise server unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise NotFoundError(response.json().get("detail", "not found"))
        if response.status_code in (401, 403):
            raise PermissionDeniedError(response.json().get("detail", "not allowed"))
        if response.status_code >= 400:
            raise UpstreamError(f"HTTP {response.status_code}: {response.json().get('detail', '')}")
        return response.json()

    def search(self, query: str, k: int) -> list[dict[str, Any]]:
        return [_hit(h) for h in self._call("POST", "/v1/search", json={"query": query, "k": k})["hits"]]

    def ask(self, question: str) -> dict[str, Any]:
        return _answer(self._call("POST", "/v1/chat", json={"question": question}))

    def read_document(self, doc_id: str) -> dict[str, Any]:
        doc = self._call("GET", f"/v1/documents/{doc_id}/passages")
        return {**doc, "passages": [{**p, "text": _clean(p["text"])} for p in doc["passages"]]}


class LocalBackend:
    """Citewise's own services, in this process, as one caller: `open` for `citewise mcp` without `--url`
    (it opens the data dir), or the API server's services for the HTTP endpoint."""

    def __init__(self, services, identity) -> None:  # noqa: ANN001
        self.services, self.identity = services, identity

    @classmethod
    def open(cls, settings: Settings, key: str) -> LocalBackend:
        from citewise.api.http.services import Services
        from citewise.identity import lookup

        services = Services(settings)
        services.open()
        found = lookup(services.db, key)
        if found is None:
            raise PermissionDeniedError("invalid or revoked API key")
        return cls(services, found)

    def search(self, query: str, k: int) -> list[dict[str, Any]]:
        from citewise.retrieval.retriever import RetrievalRequest

        hits = self.services.retriever.run(RetrievalRequest(query=query, principal=self.identity, k=k)).hits
        return [_hit(h.model_dump()) for h in hits]

    def ask(self, question: str) -> dict[str, Any]:
        from citewise.api.http.routers.chat import finisher
        from citewise.api.orchestration.schemas import ChatRequest, Turn

        turn = Turn(identity=self.identity, request=ChatRequest(question=question), trace_id=uuid.uuid4().hex)
        result = self.services.pipeline.answer(turn)
        finisher(self.services)(turn, result)  # metrics, audit row and review queue, as for /v1/chat
        return _answer(result.model_dump())

    def read_document(self, doc_id: str) -> dict[str, Any]:
        doc = self.services.documents.passages(self.identity, doc_id).model_dump()
        return {**doc, "passages": [{**p, "text": _clean(p["text"])} for p in doc["passages"]]}


def _answer(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("answer", "refused", "grounded", "flags", "trace_id")
    cites = [{k: c.get(k) for k in ("n", "doc_id", "chunk_id", "title", "quote")} for c in result.get("citations", [])]
    return {**{k: result.get(k) for k in keep}, "citations": cites}


def build_server(backend_for, **server_options: Any):  # noqa: ANN001, ANN201
    """The MCP server with Citewise's tools; `backend_for(ctx)` gives the backend of the calling principal
    (one fixed backend over stdio, the bearer key's over HTTP)."""
    server = MCPServer(
        "citewise",
        instructions="Search and ask the organisation's documents; results are scoped to your API key.",
        **server_options,
    )

    def guarded(ctx: Context, call):  # noqa: ANN001, ANN202
        try:
            return call(backend_for(ctx))
        except CitewiseError as exc:  # a tool error the client's model can read, never a crash
            return {"error": str(exc)}

    @server.tool()
    def search(query: str, ctx: Context, k: int = 5) -> dict:
        """Hybrid search over the documents this key may read; passages with their ids and scores."""
        return guarded(ctx, lambda b: {"hits": b.search(query, max(1, min(k, 20)))})

    @server.tool()
    def ask(question: str, ctx: Context) -> dict:
        """A grounded answer with citations to the passages it used (or a refusal)."""
        return guarded(ctx, lambda b: b.ask(question))

    @server.tool()
    def read_document(doc_id: str, ctx: Context) -> dict:
        """A document's passages in order, if this key may read it."""
        return guarded(ctx, lambda b: b.read_document(doc_id))

    return server


def stdio_server(backend: Backend):  # noqa: ANN201
    return build_server(lambda ctx: backend)


IDENTITY = "citewise_identity"


def http_endpoint(services, host: str):  # noqa: ANN001, ANN201
    """(MCP server, ASGI app for POST/GET /mcp): the streamable-HTTP transport, the API key as the bearer
    token (401 without a valid one, before MCP sees the request), every tool call as that key."""
    from citewise.identity import lookup

    def backend_for(ctx) -> LocalBackend:  # noqa: ANN001
        return LocalBackend(services, ctx.request_context.request.scope["state"][IDENTITY])

    server = build_server(backend_for)
    starlette_app = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host=host)
    inner = next(r for r in starlette_app.routes if getattr(r, "path", "") == "/mcp").app

    class Endpoint:  # an ASGI app (a class instance: Starlette passes a plain function a Request instead)
        async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
            from starlette.responses import JSONResponse

            headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
            auth = headers.get("authorization", "")
            key = auth[7:].strip() if auth.lower().startswith("bearer ") else headers.get("x-api-key", "")
            identity = lookup(services.db, key) if key else None
            if identity is None:
                message = "a valid API key is needed as the bearer token"
                body = {"detail": message, "error": {"message": message, "type": "authentication_error"}}
                await JSONResponse(body, status_code=401)(scope, receive, send)
                return
            verdict = services.rate_limit.run("", identity.key_id)  # the same per-key limit as the REST API
            if verdict.action == "block":
                body = {"detail": verdict.detail, "error": {"message": verdict.detail, "type": "rate_limit_error"}}
                retry = {"Retry-After": str(verdict.retry_after_s or 60)}
                await JSONResponse(body, status_code=429, headers=retry)(scope, receive, send)
                return
            scope.setdefault("state", {})[IDENTITY] = identity
            await inner(scope, receive, send)

    return server, Endpoint()
