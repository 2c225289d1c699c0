"""The HTTP API (FastAPI): chat (JSON or SSE), OpenAI-compatible completions, search, documents, health.

One process holds the index (Qdrant Edge locks its folder), the encoder and the metadata DB; every
route but health needs an API key, and the key's principal goes into every retrieval call.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.guards import RateLimit
from api.identity import Identity, lookup
from api.observability import Metrics, trace_id_var
from api.pipeline import ChatPipeline, ChatRequest, ChatResult, Event, Turn
from api.providers import ProviderError
from api.sessions import SessionStore
from citewise.db import init_db
from citewise.errors import CitewiseError, ConfigError, DocumentError, IndexLockedError, describe
from citewise.models import PUBLIC
from citewise.settings import Settings
from retrieval.retriever import RetrievalRequest, Retriever, SearchFilters, permission_filter
from retrieval.stores import Filter, SearchMode

log = logging.getLogger("citewise.api")


class Services:
    """Everything a request needs, opened once at startup and shared (heavy models load once)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.write_lock = threading.Lock()
        self.metrics = Metrics()
        self.rate_limit = RateLimit(settings.guards.rate_limit_per_minute)

    @cached_property
    def db(self):  # noqa: ANN201
        import api.identity  # noqa: F401  (register tables)
        import api.sessions  # noqa: F401
        import ingest.state  # noqa: F401

        return init_db(self.settings.db_url)

    @cached_property
    def ingestor(self):  # noqa: ANN201
        from ingest.pipeline import Ingestor

        return Ingestor(self.settings)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.settings, store=self.ingestor.store, encoder=self.ingestor.encoder)

    @cached_property
    def pipeline(self) -> ChatPipeline:
        return ChatPipeline(self.settings, self.retriever)

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.db)

    @cached_property
    def jobs(self):  # noqa: ANN201
        from ingest.jobs import JobStore

        return JobStore(self.db)

    @cached_property
    def runner(self):  # noqa: ANN201
        """In-process jobs share the server's ingestor (one writer to the embedded index); Celery jobs go out."""
        from ingest.runners import make_runner

        return make_runner(self.settings, self.ingestor, self.write_lock)

    def open(self) -> None:
        self.db  # noqa: B018
        self.ingestor.encoder.embed_query("warm up")
        self.ingestor.store.count()
        self.pipeline  # noqa: B018
        if self.settings.jobs.backend == "inprocess":  # the embedded profile's timer for connector intervals
            from ingest.runners import Scheduler

            self.scheduler = Scheduler(self.jobs, self.runner, self.settings.jobs.schedule_check_s)
            self.scheduler.start()

    def close(self) -> None:
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.stop()
        if "runner" in self.__dict__ and hasattr(self.runner, "shutdown"):
            self.runner.shutdown()
        if "ingestor" in self.__dict__:
            self.ingestor.close()


# ---- request / response models -------------------------------------------------------------


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=8000)
    k: int = Field(10, ge=1, le=200)
    mode: SearchMode | None = None
    reranker: str | None = None
    filters: SearchFilters = Field(default_factory=SearchFilters)
    max_per_doc: int | None = Field(None, ge=1)
    mmr_lambda: float | None = Field(None, ge=0, le=1)
    neighbours: int | None = Field(None, ge=0, le=5)


class ConnectorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: str
    config: dict[str, Any] = Field(default_factory=dict)
    acl: list[str] = Field(default_factory=list)
    interval_s: int | None = Field(None, ge=60)


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class CompletionBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, ... are accepted and ignored

    model: str = "citewise"
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False


# ---- authentication ------------------------------------------------------------------------


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
        raise HTTPException(429, verdict.detail)
    return found


Caller = Annotated[Identity, Depends(identity)]


# ---- the app ---------------------------------------------------------------------------------


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        services.open()
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
            response = await call_next(request)
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

    def error(status: int, message: str, kind: str) -> JSONResponse:
        return JSONResponse(
            {"detail": message, "error": {"message": message, "type": kind}, "trace_id": trace_id_var.get()},
            status_code=status,
        )

    @app.exception_handler(DocumentError)
    async def _doc_error(request: Request, exc: DocumentError) -> JSONResponse:
        return error(422, str(exc), exc.kind)

    @app.exception_handler(ProviderError)
    async def _provider(request: Request, exc: ProviderError) -> JSONResponse:
        return error(502, str(exc), "provider_error")

    @app.exception_handler(IndexLockedError)
    async def _locked(request: Request, exc: IndexLockedError) -> JSONResponse:
        return error(503, str(exc), "index_locked")

    @app.exception_handler(CitewiseError)
    async def _citewise(request: Request, exc: CitewiseError) -> JSONResponse:
        return error(400, str(exc), "invalid_request_error" if isinstance(exc, ConfigError) else "citewise_error")

    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: ValidationError) -> JSONResponse:
        return error(422, describe(exc), "invalid_request_error")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        kinds = {401: "authentication_error", 403: "permission_error", 404: "not_found", 429: "rate_limit_error"}
        return error(exc.status_code, str(exc.detail), kinds.get(exc.status_code, "invalid_request_error"))

    # ---- health, metrics ----

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        try:
            points = services.ingestor.store.count()
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure as not ready
            return JSONResponse({"status": "not ready", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready", "points": points})

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return PlainTextResponse(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ---- chat ----

    def start_turn(caller: Identity, body: ChatRequest) -> Turn:
        opened = services.sessions.open(caller, body.session_id)
        if opened is None:
            raise HTTPException(404, f"unknown session {body.session_id!r}")
        session_id, history = opened
        body = body.model_copy(update={"session_id": session_id})
        return Turn(identity=caller, request=body, trace_id=trace_id_var.get(), history=history)

    def finish(turn: Turn, result: ChatResult) -> None:
        outcome = "refused" if result.refused else ("grounded" if result.grounded else "ungrounded")
        services.metrics.answers.labels(outcome).inc()
        if turn.request.session_id:
            services.sessions.append(turn.request.session_id, turn.request.question, result.answer)
        log.info("answer", extra={"fields": {"flags": result.flags, "timings": result.timings, "outcome": outcome}})

    @app.post("/v1/chat", tags=["chat"], response_model=ChatResult)
    def chat(body: ChatRequest, caller: Caller) -> Any:
        services.pipeline.profile(body.profile)  # unknown profile: 400 before anything runs
        turn = start_turn(caller, body)
        if body.stream:
            return StreamingResponse(_sse(services.pipeline.run(turn), turn, finish), media_type="text/event-stream")
        result = services.pipeline.answer(turn)
        finish(turn, result)
        return result

    # ---- OpenAI-compatible ----

    @app.get("/v1/models", tags=["openai"])
    def models(caller: Caller) -> dict:
        return {
            "object": "list",
            "data": [
                {"id": p.name, "object": "model", "created": 0, "owned_by": "citewise"} for p in settings.chat.profiles
            ],
        }

    @app.post("/v1/chat/completions", tags=["openai"])
    def completions(body: CompletionBody, caller: Caller) -> Any:
        if body.model not in {p.name for p in settings.chat.profiles}:
            raise HTTPException(404, f"model {body.model!r} not found; GET /v1/models lists the answering profiles")
        users = [i for i, m in enumerate(body.messages) if m.role == "user"]
        if not users:
            raise HTTPException(422, "messages must contain a user message")
        question = body.messages[users[-1]].text()
        history = [(m.role, m.text()) for m in body.messages[: users[-1]] if m.role in ("user", "assistant")]
        turn = Turn(
            identity=caller,
            request=ChatRequest(question=question, profile=body.model),
            trace_id=trace_id_var.get(),
            history=history,
        )
        completion_id = f"chatcmpl-{turn.trace_id[:24]}"
        created = int(time.time())
        if body.stream:
            events = services.pipeline.run(turn)
            return StreamingResponse(
                _openai_stream(events, completion_id, created, body.model, turn, finish), media_type="text/event-stream"
            )
        result = services.pipeline.answer(turn)
        finish(turn, result)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": result.answer}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": [c.model_dump() for c in result.citations],
            "citewise": result.model_dump(exclude={"answer", "citations"}),
        }

    # ---- search ----

    @app.post("/v1/search", tags=["search"])
    def search(body: SearchBody, caller: Caller) -> dict:
        result = services.retriever.run(RetrievalRequest(principal=caller, **body.model_dump()))
        return result.model_dump()

    # ---- documents ----

    @app.post("/v1/documents", tags=["documents"], status_code=201)
    def upload(
        caller: Caller,
        file: Annotated[UploadFile, File(description="the document")],
        acl: Annotated[list[str] | None, Form(description="user:U or group:G; none = everyone in the tenant")] = None,
    ) -> dict:
        from connectors.filesystem import FilesystemConnector
        from ingest.pipeline import doc_id_for

        acl = [a for a in (acl or []) if a]
        for entry in acl:
            if not (entry.startswith(("user:", "group:")) and len(entry.split(":", 1)[1]) > 0):
                raise HTTPException(422, f"acl entry {entry!r}: use user:NAME or group:NAME")
            if not caller.admin and entry not in caller.acl_principals():
                raise HTTPException(403, f"only an admin key may grant {entry!r}")
        name = Path(file.filename or "upload").name[:200] or "upload"
        limit = int(settings.api.max_upload_mb * 1024 * 1024)
        folder = (settings.data_dir / "uploads" / caller.tenant / uuid.uuid4().hex).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        size = 0
        with target.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    out.close()
                    _remove_tree(folder)
                    raise HTTPException(413, f"file is over the {settings.api.max_upload_mb:g} MB upload limit")
                out.write(chunk)
        connector = FilesystemConnector(path=target, acl=acl or None)
        with services.write_lock:
            report = services.ingestor.sync(connector, tenant=caller.tenant)
        doc_id = doc_id_for(services.ingestor.collection, caller.tenant, str(target))
        if report.failed:
            with services.write_lock:
                services.ingestor.state.remove([doc_id])
            _remove_tree(folder)
            raise HTTPException(422, f"{name}: {report.errors[0].error}")
        return {
            "doc_id": doc_id,
            "title": Path(name).stem,
            "filename": name,
            "chunks": report.chunks,
            "acl": acl or [PUBLIC],
        }

    @app.get("/v1/documents", tags=["documents"])
    def list_documents(caller: Caller, limit: int = 100) -> dict:
        flt = permission_filter(caller)
        flt.match = {"chunk_index": 0}
        points = services.ingestor.store.scroll(flt, limit=max(1, min(limit, 10_000)))
        docs = [
            {
                "doc_id": p.payload.get("doc_id"),
                "title": p.payload.get("title"),
                "uri": p.payload.get("path"),
                "source": p.payload.get("source"),
                "modified_at": p.payload.get("modified_at"),
                "acl": p.payload.get("acl"),
            }
            for p in points
        ]
        return {"documents": docs, "count": len(docs)}

    @app.delete("/v1/documents/{doc_id}", tags=["documents"])
    def delete_document(doc_id: str, caller: Caller) -> dict:
        visible = permission_filter(caller)
        visible.match = {"doc_id": doc_id}
        if not services.ingestor.store.scroll(visible, limit=1):
            raise HTTPException(404, f"no document {doc_id!r} visible to this key")
        if not caller.admin:
            raise HTTPException(403, "deleting documents needs an admin key")
        with services.write_lock:
            services.ingestor.store.delete(Filter(tenant=caller.tenant, match={"doc_id": doc_id}))
            services.ingestor.store.flush()
            services.ingestor.state.remove([doc_id])
        return {"deleted": doc_id}

    # ---- connectors and jobs ----

    @app.post("/v1/connectors", tags=["connectors"], status_code=201)
    def add_connector(body: ConnectorBody, caller: Caller) -> dict:
        if not caller.admin:
            raise HTTPException(403, "adding connectors needs an admin key")
        info = services.jobs.add_connector(
            body.name, body.type, body.config, tenant=caller.tenant, acl=body.acl, interval_s=body.interval_s
        )
        return info.model_dump()

    @app.get("/v1/connectors", tags=["connectors"])
    def list_connectors(caller: Caller) -> dict:
        return {"connectors": [c.model_dump() for c in services.jobs.connectors(caller.tenant)]}

    @app.post("/v1/connectors/{connector_id}/sync", tags=["connectors"], status_code=202)
    def sync_connector(connector_id: str, caller: Caller) -> dict:
        from ingest.runners import start_sync

        if not caller.admin:
            raise HTTPException(403, "starting syncs needs an admin key")
        connector = services.jobs.connector(connector_id, tenant=caller.tenant)
        if connector is None:
            raise HTTPException(404, f"no connector {connector_id!r} in this tenant")
        job_id = start_sync(services.jobs, connector.id, services.runner)
        return {"job_id": job_id, "status": "queued"}

    @app.get("/v1/jobs/{job_id}", tags=["connectors"])
    def get_job(job_id: str, caller: Caller) -> dict:
        job = services.jobs.job(job_id)
        if job is None or services.jobs.connector(job.connector_id, tenant=caller.tenant) is None:
            raise HTTPException(404, f"no job {job_id!r} in this tenant")
        return job.model_dump(mode="json")

    @app.get("/v1/jobs", tags=["connectors"])
    def list_jobs(caller: Caller, connector: str | None = None) -> dict:
        cid = None
        if connector:
            found = services.jobs.connector(connector, tenant=caller.tenant)
            if found is None:
                raise HTTPException(404, f"no connector {connector!r} in this tenant")
            cid = found.id
        return {"jobs": [j.model_dump(mode="json") for j in services.jobs.jobs(cid, tenant=caller.tenant)]}

    return app


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _sse_frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def _sse(events: Iterator[Event], turn: Turn, finish) -> Iterator[str]:  # noqa: ANN001
    try:
        for event in events:
            if event.type == "done":
                finish(turn, event.data)
                yield _sse_frame("done", event.data.model_dump())
            else:
                yield _sse_frame(event.type, event.data)
    except CitewiseError as exc:
        yield _sse_frame("error", {"message": str(exc)})


def _openai_stream(
    events: Iterator[Event],
    completion_id: str,
    created: int,
    model: str,
    turn: Turn,
    finish,  # noqa: ANN001
) -> Iterator[str]:
    def chunk(delta: dict, finish_reason: str | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(body, default=str)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    streamed: list[str] = []
    try:
        for event in events:
            if event.type == "token":
                streamed.append(event.data)
                yield chunk({"content": event.data})
            elif event.type == "error":
                yield f"data: {json.dumps({'error': {'message': event.data['message'], 'type': 'provider_error'}})}\n\n"
                break
            elif event.type == "done":
                result: ChatResult = event.data
                finish(turn, result)
                if not streamed:  # refusals and blocked questions have no tokens: send the text once
                    yield chunk({"content": result.answer})
                yield chunk(
                    {},
                    "stop",
                    citations=[c.model_dump() for c in result.citations],
                    citewise=result.model_dump(exclude={"answer", "citations"}),
                )
    except CitewiseError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'citewise_error'}})}\n\n"
    yield "data: [DONE]\n\n"
