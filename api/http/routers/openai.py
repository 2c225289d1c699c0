"""The OpenAI-compatible API (any OpenAI SDK or chat UI): GET /v1/models, POST /v1/chat/completions.

`model` is an answering profile; citations come as [n] in the text and in the extra `citations` field.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from citewise.api.http.deps import Caller, ServicesDep
from citewise.api.http.errors import documented
from citewise.api.http.routers.chat import STREAM, finisher, start_turn
from citewise.api.http.streaming import openai_stream
from citewise.api.orchestration.schemas import ChatRequest
from citewise.errors import InvalidInputError, NotFoundError

router = APIRouter(tags=["openai"])


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
    stream: StrictBool = False


@router.get("/v1/models", responses=documented())
def models(caller: Caller, services: ServicesDep) -> dict:
    profiles = services.settings.chat.profiles
    return {
        "object": "list",
        "data": [{"id": p.name, "object": "model", "created": 0, "owned_by": "citewise"} for p in profiles],
    }


@router.post("/v1/chat/completions", responses={**STREAM, **documented(400, 404, 502, 503, 504)})
def completions(body: CompletionBody, caller: Caller, services: ServicesDep) -> Any:
    if body.model not in {p.name for p in services.settings.chat.profiles}:
        raise NotFoundError(f"model {body.model!r} not found; GET /v1/models lists the answering profiles")
    users = [i for i, m in enumerate(body.messages) if m.role == "user"]
    if not users:
        raise InvalidInputError("messages must contain a user message")
    question = body.messages[users[-1]].text()
    history = [(m.role, m.text()) for m in body.messages[: users[-1]] if m.role in ("user", "assistant")]
    turn = start_turn(services, caller, ChatRequest(question=question, profile=body.model), history=history)
    completion_id = f"chatcmpl-{turn.trace_id[:24]}"
    created = int(time.time())
    finish = finisher(services)
    if body.stream:
        services.pipeline.admit(services.pipeline.profile(body.model))
        events = services.pipeline.run(turn)
        return StreamingResponse(
            openai_stream(events, completion_id, created, body.model, turn, finish), media_type="text/event-stream"
        )
    result = services.pipeline.answer(turn)
    finish(turn, result)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.answer}, "finish_reason": "stop"}],
        "usage": result.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}),
        "citations": [c.model_dump() for c in result.citations],
        "citewise": result.model_dump(exclude={"answer", "citations"}),
    }
