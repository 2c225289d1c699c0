"""POST /v1/chat: a grounded, cited answer as JSON, or as server-sent events with `stream: true`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from citewise.api.http.deps import Caller, ServicesDep
from citewise.api.http.errors import documented
from citewise.api.http.observability import trace_id_var
from citewise.api.http.services import Services
from citewise.api.http.streaming import citewise_stream
from citewise.api.orchestration.schemas import ChatRequest, ChatResult, Turn
from citewise.api.orchestration.sessions import Memory
from citewise.identity import Identity

log = logging.getLogger("citewise.api")
router = APIRouter(tags=["chat"])
# With `stream: true` the answer comes as server-sent events; each event's data is JSON (a list of sources,
# a token string, a citation, a guardrail verdict, the final result, or an error).
EVENT_DATA = {"type": ["object", "array", "string"]}
STREAM: dict[int | str, dict] = {
    200: {"content": {"text/event-stream": {"schema": EVENT_DATA}}, "description": "the answer, or its events"}
}


def start_turn(services: Services, caller: Identity, body: ChatRequest, history: list | None = None) -> Turn:
    """A turn in the caller's session (a new one without `session_id`; another principal's is a 404).
    The OpenAI-compatible route brings its own history instead."""
    if history is None:
        session_id, memory = services.sessions.open(caller, body.session_id)
        body = body.model_copy(update={"session_id": session_id})
    else:
        memory = Memory(turns=history)
    return Turn(identity=caller, request=body, trace_id=trace_id_var.get(), memory=memory)


def finisher(services: Services):  # noqa: ANN201
    """What runs once a turn has its result: metrics, the session's memory, the audit row, the log line."""

    def finish(turn: Turn, result: ChatResult) -> None:
        outcome = "refused" if result.refused else ("grounded" if result.grounded else "ungrounded")
        services.metrics.answers.labels(outcome).inc()
        if turn.request.session_id:
            services.sessions.append(turn.request.session_id, turn.request.question, result.answer)
            if turn.new_summary:
                services.sessions.save_summary(turn.request.session_id, *turn.new_summary)
        services.audit.record(turn.identity, turn.trace_id, turn.request.question, result)
        services.review.consider(turn.identity, turn.trace_id, turn.request.question, result)
        log.info("answer", extra={"fields": {"flags": result.flags, "timings": result.timings, "outcome": outcome}})

    return finish


@router.post("/v1/chat", response_model=ChatResult, responses={**STREAM, **documented(400, 404, 502, 503, 504)})
def chat(body: ChatRequest, caller: Caller, services: ServicesDep) -> Any:
    profile = services.pipeline.check(caller.tenant, body.profile, body.prompt)  # unknown names: 400 first
    turn = start_turn(services, caller, body)
    finish = finisher(services)
    if body.stream:
        services.pipeline.admit(profile)  # the stream's 200 goes out at once: busy servers are a 503 first
        return StreamingResponse(
            citewise_stream(services.pipeline.run(turn), turn, finish), media_type="text/event-stream"
        )
    result = services.pipeline.answer(turn)
    finish(turn, result)
    return result
