"""Server-sent events: Citewise's own event stream and the OpenAI chat-completion chunk stream."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from citewise.api.orchestration.schemas import ChatResult, Event, Turn
from citewise.errors import CitewiseError

log = logging.getLogger("citewise.api")
Finish = Callable[[Turn, ChatResult], None]


def sse_frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def citewise_stream(events: Iterator[Event], turn: Turn, finish: Finish) -> Iterator[str]:
    try:
        for event in events:
            if event.type == "done":
                finish(turn, event.data)
                yield sse_frame("done", event.data.model_dump())
            else:
                yield sse_frame(event.type, event.data)
    except CitewiseError as exc:
        yield sse_frame("error", {"message": str(exc)})
    except Exception:  # noqa: BLE001 - the 200 is sent: the stream ends with an error event, logged redacted
        log.exception("internal error while streaming")
        yield sse_frame("error", {"message": "internal error; quote the trace id to the operator"})


def openai_stream(
    events: Iterator[Event],
    completion_id: str,
    created: int,
    model: str,
    turn: Turn,
    finish: Finish,
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
            elif event.type == "reset":  # an OpenAI stream cannot take text back: say so and stop
                message = "the model server failed mid-answer; please retry"
                yield f"data: {json.dumps({'error': {'message': message, 'type': 'provider_error'}})}\n\n"
                break
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
                    usage=result.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}),
                    citewise=result.model_dump(exclude={"answer", "citations"}),
                )
    except CitewiseError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'citewise_error'}})}\n\n"
    except Exception:  # noqa: BLE001 - as above
        log.exception("internal error while streaming")
        yield f"data: {json.dumps({'error': {'message': 'internal error', 'type': 'internal_error'}})}\n\n"
    yield "data: [DONE]\n\n"
