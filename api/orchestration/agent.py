"""The agent: a bounded loop in which the LLM calls tools (OpenAI function calling), observes, and answers.

Each tool call's arguments are validated by the tool's pydantic model; invalid arguments, unknown tools and
tool errors go back to the model as observations, never out of the request. Passages the tools return are
numbered across the run (`n`), so the final answer cites them as [n] and the citation check runs against
exactly those passages. Limits per request: steps, tool calls, wall time, tokens; the stop reason is
reported. A run stopped by a limit answers extractively from what the tools found.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from citewise.api.orchestration.providers.base import Call
from citewise.api.orchestration.schemas import Event
from citewise.api.orchestration.tools import Tool, schema
from citewise.errors import CitewiseError, describe
from citewise.identity import Identity
from citewise.models import SearchHit
from citewise.settings import AgentSettings


class AgentStep(BaseModel):
    type: str  # tool_call | answer
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    summary: str = ""
    ok: bool = True


@dataclass
class AgentRun:
    answer: str = ""
    stop_reason: str = ""
    steps: list[AgentStep] = field(default_factory=list)
    passages: list[SearchHit] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)


def run_agent(
    provider: Any,
    tools: dict[str, Tool],
    identity: Identity,
    system: str,
    user: str,
    limits: AgentSettings,
    run: AgentRun,
) -> Iterator[Event]:
    """Yields `step` events; fills `run` (answer or stop reason, steps, numbered passages, calls)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    offered = [schema(t) for t in tools.values()]
    seen: dict[str, int] = {}  # chunk id -> n
    started, tool_calls = time.monotonic(), 0
    for _ in range(limits.max_steps):
        if time.monotonic() - started > limits.max_seconds:
            run.stop_reason = "max_seconds"
            return
        if sum(c.usage.prompt_tokens + c.usage.completion_tokens for c in run.calls) > limits.max_tokens:
            run.stop_reason = "max_tokens"
            return
        call = Call()
        run.calls.append(call)
        message = provider.complete(messages, offered, call)
        requested = message.get("tool_calls") or []
        if not requested:
            run.answer = (message.get("content") or "").strip()
            run.stop_reason = "answer"
            run.steps.append(AgentStep(type="answer", summary=run.answer[:200]))
            yield Event("step", run.steps[-1].model_dump())
            return
        messages.append({"role": "assistant", "content": message.get("content") or "", "tool_calls": requested})
        for request in requested:
            if tool_calls >= limits.max_tool_calls:
                run.stop_reason = "max_tool_calls"
                return
            tool_calls += 1
            step, content = _call_tool(request, tools, identity, run, seen)
            run.steps.append(step)
            yield Event("step", step.model_dump())
            messages.append({"role": "tool", "tool_call_id": request.get("id", ""), "content": content})
    run.stop_reason = "max_steps"


def _call_tool(
    request: dict, tools: dict[str, Tool], identity: Identity, run: AgentRun, seen: dict[str, int]
) -> tuple[AgentStep, str]:
    function = request.get("function") or {}
    name = str(function.get("name", ""))
    raw = function.get("arguments") or "{}"
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else dict(raw)
        if not isinstance(arguments, dict):
            raise ValueError("arguments must be a JSON object")
    except (ValueError, TypeError) as exc:
        return _failed(name, None, f"arguments are not valid JSON: {exc}")
    tool = tools.get(name)
    if tool is None:
        return _failed(name, arguments, f"unknown tool {name!r}; tools: {', '.join(tools)}")
    try:
        args = tool.arguments.model_validate(arguments)
    except ValidationError as exc:
        return _failed(name, arguments, f"invalid arguments: {describe(exc)}")
    try:
        result = tool.run(identity, args)
    except CitewiseError as exc:
        return _failed(name, arguments, str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken tool is an observation for the model, not a 500
        return _failed(name, arguments, f"the tool failed: {type(exc).__name__}")
    data = result.data
    if result.passages:  # number the passages across the run; the model cites these numbers
        numbered = []
        for hit, shown in zip(result.passages, data, strict=False):
            if hit.chunk_id not in seen:
                seen[hit.chunk_id] = len(run.passages) + 1
                run.passages.append(hit)
            numbered.append({"n": seen[hit.chunk_id], **shown})
        data = numbered
    step = AgentStep(type="tool_call", tool=name, arguments=arguments, summary=result.summary)
    return step, json.dumps(data, default=str)[:20_000]


def _failed(name: str, arguments: dict | None, error: str) -> tuple[AgentStep, str]:
    return AgentStep(type="tool_call", tool=name, arguments=arguments, summary=error, ok=False), json.dumps(
        {"error": error}
    )
