"""The agent: a bounded loop in which the LLM calls tools (OpenAI function calling), observes, and answers.

Each tool call's arguments are validated by the tool's pydantic model; invalid arguments, unknown tools and
tool errors go back to the model as observations, never out of the request. Passages the tools return are
numbered across the run (`n`), so the final answer cites them as [n] and the citation check runs against
exactly those passages. Limits per request: steps, tool calls, wall time, tokens; the stop reason is
reported. A run stopped by a limit answers extractively from what the tools found.

How tools are offered is a `ToolProtocol` (registry `PROTOCOLS`): `native` sends OpenAI `tools` and reads
`tool_calls`; `text` (for servers without function calling) describes the tools in the system prompt and reads
ReAct-style `Action:` / `Action Input:` / `Final Answer:` replies; `auto` starts native and switches to text
when the server rejects `tools` with a 4xx.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from citewise.api.orchestration.providers.base import Call
from citewise.api.orchestration.schemas import Event
from citewise.api.orchestration.tools import Tool, schema
from citewise.errors import CitewiseError, ProviderError, describe
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
    protocol: str = "native"


@dataclass
class Reply:
    """One model turn, whatever the protocol: tool requests (OpenAI `tool_calls` shape) or a final answer."""

    content: str
    tool_calls: list[dict] = field(default_factory=list)


class ToolProtocol(Protocol):
    name: str

    def system(self, system: str, offered: list[dict]) -> str: ...

    def ask(self, provider: Any, messages: list[dict], offered: list[dict], call: Call) -> Reply: ...

    def turn(self, reply: Reply) -> dict: ...

    def observation(self, request: dict, content: str) -> dict: ...


class NativeTools:
    """OpenAI function calling: `tools` in the request, `tool_calls` in the reply, `tool` messages back."""

    name = "native"

    def system(self, system: str, offered: list[dict]) -> str:
        return system

    def ask(self, provider: Any, messages: list[dict], offered: list[dict], call: Call) -> Reply:
        message = provider.complete(messages, offered, call)
        return Reply((message.get("content") or "").strip(), list(message.get("tool_calls") or []))

    def turn(self, reply: Reply) -> dict:
        return {"role": "assistant", "content": reply.content, "tool_calls": reply.tool_calls}

    def observation(self, request: dict, content: str) -> dict:
        return {"role": "tool", "tool_call_id": request.get("id", ""), "content": content}


_ACTION = re.compile(r"Action\s*:\s*([\w.-]+)\s*(?:Action\s+Input\s*:\s*)?", re.IGNORECASE)
_FINAL = re.compile(r"Final\s+Answer\s*:\s*", re.IGNORECASE)


class TextTools:
    """ReAct in plain text for servers without function calling: the tools are described in the system
    prompt, one `Action:` with a JSON `Action Input:` per reply, the result comes back as `Observation:`."""

    name = "text"

    def system(self, system: str, offered: list[dict]) -> str:
        lines = [
            f"- {t['function']['name']}: {t['function']['description']} Arguments (JSON schema): "
            f"{json.dumps(t['function']['parameters'].get('properties', {}))}"
            for t in offered
        ]
        return (
            f"{system}\n\nTools:\n" + "\n".join(lines) + "\n\nTo use a tool, reply with exactly two lines:\n"
            "Action: <tool name>\nAction Input: <the arguments as one JSON object>\n"
            "and wait for the Observation. When you can answer, reply with:\nFinal Answer: <the answer>"
        )

    def ask(self, provider: Any, messages: list[dict], offered: list[dict], call: Call) -> Reply:
        return parse_react((provider.complete(messages, None, call).get("content") or "").strip())

    def turn(self, reply: Reply) -> dict:
        return {"role": "assistant", "content": reply.content}

    def observation(self, request: dict, content: str) -> dict:
        return {"role": "user", "content": f"Observation: {content}"}


def parse_react(text: str) -> Reply:
    """`Final Answer:` wins; else the first `Action:` with the JSON object after it; else the text is the answer.
    Unparseable arguments pass through as a string, so the model is told they are not valid JSON."""
    final = _FINAL.search(text)
    action = _ACTION.search(text)
    if final and (action is None or final.start() < action.start()):
        return Reply(text[final.end() :].strip())
    if action is None:
        return Reply(text)
    rest = text[action.end() :]
    start = rest.find("{")
    raw = rest.strip()
    if start >= 0:
        try:
            raw = json.dumps(json.JSONDecoder().raw_decode(rest[start:])[0])
        except ValueError:
            raw = rest[start:].strip()
    request = {"id": "react", "type": "function", "function": {"name": action.group(1), "arguments": raw}}
    return Reply(text, [request])


PROTOCOLS: dict[str, ToolProtocol] = {"native": NativeTools(), "text": TextTools()}


def _rejects_tools(exc: ProviderError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code in (400, 404, 422, 501)


def run_agent(
    provider: Any,
    tools: dict[str, Tool],
    identity: Identity,
    system: str,
    user: str,
    limits: AgentSettings,
    run: AgentRun,
    protocol: str = "native",
) -> Iterator[Event]:
    """Yields `step` events; fills `run` (answer or stop reason, steps, numbered passages, calls, protocol)."""
    offered = [schema(t) for t in tools.values()]
    way = PROTOCOLS["native" if protocol == "auto" else protocol]
    messages: list[dict[str, Any]] = [{"role": "system", "content": way.system(system, offered)}]
    messages.append({"role": "user", "content": user})
    seen: dict[str, int] = {}  # chunk id -> n
    started, tool_calls = time.monotonic(), 0
    for step in range(limits.max_steps):
        if time.monotonic() - started > limits.max_seconds:
            run.stop_reason = "max_seconds"
            return
        if sum(c.usage.prompt_tokens + c.usage.completion_tokens for c in run.calls) > limits.max_tokens:
            run.stop_reason = "max_tokens"
            return
        call = Call()
        run.calls.append(call)
        try:
            reply = way.ask(provider, messages, offered, call)
        except ProviderError as exc:
            if not (protocol == "auto" and step == 0 and way.name == "native" and _rejects_tools(exc)):
                raise
            way = PROTOCOLS["text"]  # the server does not take `tools`: describe them in the prompt instead
            messages[0] = {"role": "system", "content": way.system(system, offered)}
            reply = way.ask(provider, messages, offered, call)
        run.protocol = way.name
        if not reply.tool_calls:
            run.answer = reply.content
            run.stop_reason = "answer"
            run.steps.append(AgentStep(type="answer", summary=run.answer[:200]))
            yield Event("step", run.steps[-1].model_dump())
            return
        messages.append(way.turn(reply))
        for request in reply.tool_calls:
            if tool_calls >= limits.max_tool_calls:
                run.stop_reason = "max_tool_calls"
                return
            tool_calls += 1
            done, content = _call_tool(request, tools, identity, run, seen)
            run.steps.append(done)
            yield Event("step", done.model_dump())
            messages.append(way.observation(request, content))
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
        numbers = []
        for hit in result.passages:
            if hit.chunk_id not in seen:
                seen[hit.chunk_id] = len(run.passages) + 1
                run.passages.append(hit)
            numbers.append(seen[hit.chunk_id])
        if isinstance(data, list):  # one shown item per passage
            data = [{"n": n, **shown} for n, shown in zip(numbers, data, strict=False)]
        else:  # one result drawn from these passages (a table query)
            data = {"cite_as": numbers, **data}
    step = AgentStep(type="tool_call", tool=name, arguments=arguments, summary=result.summary)
    return step, json.dumps(data, default=str)[:20_000]


def _failed(name: str, arguments: dict | None, error: str) -> tuple[AgentStep, str]:
    return AgentStep(type="tool_call", tool=name, arguments=arguments, summary=error, ok=False), json.dumps(
        {"error": error}
    )
