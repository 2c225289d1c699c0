"""`openai`: the LLM gateway over OpenAI-compatible endpoints (vLLM, Ollama, TGI, llama.cpp server, OpenAI,
Azure). One provider per profile, shared by every request: it balances over the profile's endpoints
(`balancer`), keeps a circuit breaker per endpoint (`breaker`), retries retryable errors with backoff within
one deadline per request, and reports the endpoint, tokens and cost of each call.

Retryable: connection errors (the next endpoint at once), timeouts, 429 and 5xx (after a backoff, or the
server's Retry-After). Not retried: other 4xx (the request itself is wrong). A failure after the first token
raises `StreamInterruptedError`; the pipeline decides whether to start the answer again elsewhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from citewise.api.orchestration.providers.balancer import Balancer, Slot
from citewise.api.orchestration.providers.base import Attempt, Call, Prompt, Usage, estimate_tokens
from citewise.errors import ProviderError
from citewise.redact import redact_secrets
from citewise.settings import OpenAIProfile

_HEALTH_FAILURES = {401, 403, 404}  # the endpoint is misconfigured: counts against its circuit


class StreamInterruptedError(ProviderError):
    """The endpoint failed after part of the answer was streamed."""


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


def _health(exc: Exception) -> bool | None:
    """What a failed attempt says about the endpoint: False (counts against its circuit), or None (the
    request itself was wrong, e.g. a 400 for a prompt too long)."""
    status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
    return False if status is None or status >= 500 or status in (429, *_HEALTH_FAILURES) else None


def _backoff(exc: Exception, attempt: int) -> float:
    if isinstance(exc, httpx.ConnectError):
        return 0.0  # nothing is listening: try the next endpoint now
    if isinstance(exc, httpx.HTTPStatusError):
        after = exc.response.headers.get("Retry-After", "")
        if after.replace(".", "", 1).isdigit():
            return min(float(after), 5.0)
    return min(0.2 * 2**attempt, 2.0)


class OpenAIProvider:
    name = "openai"

    def __init__(self, profile: OpenAIProfile) -> None:
        self.profile = profile
        self.balancer = Balancer(
            profile.resolved_endpoints(),
            failures=profile.breaker_failures,
            cooldown_s=profile.breaker_cooldown_s,
            queue_timeout_s=profile.queue_timeout_s,
        )
        for slot in self.balancer.slots:
            key = slot.endpoint.api_key.get_secret_value() if slot.endpoint.api_key else "none"
            slot.extra["client"] = httpx.Client(
                base_url=slot.endpoint.base_url.rstrip("/"),
                headers={"Authorization": f"Bearer {key}"},
                timeout=httpx.Timeout(profile.timeout_s, connect=min(5.0, profile.timeout_s)),
                limits=httpx.Limits(max_connections=slot.endpoint.max_concurrency + 2),
            )

    def health(self) -> list[dict]:
        return [s.health() for s in self.balancer.slots]

    def stream(self, prompt: Prompt, call: Call) -> Iterator[str]:
        call.provider = self.name
        deadline = time.monotonic() + self.profile.deadline_s
        avoid: set[str] = set()
        for attempt in range(self.profile.max_retries + 1):
            if time.monotonic() >= deadline:
                break
            slot = self.balancer.acquire(avoid, deadline)  # SaturatedError / all circuits open: raised as is
            began, ok, streamed, wall = time.perf_counter(), None, [], time.time_ns()
            try:
                response = self._open(slot, prompt, deadline)
                usage = None
                try:
                    for delta, reported in _chunks(response, slot.name):
                        if delta:
                            streamed.append(delta)
                            yield delta
                        usage = reported or usage
                finally:
                    response.close()
                ok = True
                call.endpoint = slot.name
                call.usage = self._usage(slot, prompt, "".join(streamed), usage)
                call.attempts.append(Attempt(slot.name, "ok", time.perf_counter() - began, started_ns=wall))
                return
            except (httpx.HTTPError, ProviderError) as exc:
                seconds = time.perf_counter() - began
                ok = _health(exc)
                brief = _brief(exc)
                outcome = "timeout" if isinstance(exc, httpx.TimeoutException) else "error"
                if streamed:
                    call.attempts.append(Attempt(slot.name, "interrupted", seconds, brief, wall))
                    raise StreamInterruptedError(f"{slot.name}: {brief} after {len(streamed)} tokens") from exc
                call.attempts.append(Attempt(slot.name, outcome, seconds, brief, wall))
                if not isinstance(exc, httpx.HTTPError) or not _retryable(exc):
                    raise ProviderError(f"{slot.name}: {brief}") from exc
                avoid.add(slot.name)
                pause = min(_backoff(exc, attempt), max(0.0, deadline - time.monotonic()))
            except GeneratorExit:
                ok = None  # the caller stopped reading: says nothing about the endpoint
                raise
            finally:
                self.balancer.release(slot, ok=ok, seconds=time.perf_counter() - began)
            if attempt < self.profile.max_retries and pause:
                time.sleep(pause)
        tried = "; ".join(f"{a.endpoint}: {a.error}" for a in call.attempts) or "deadline passed"
        raise ProviderError(f"no endpoint answered within {self.profile.deadline_s:g} s ({tried})")

    def complete(self, messages: list[dict], tools: list[dict] | None, call: Call) -> dict:
        """One non-streamed chat completion offering `tools` (OpenAI function calling; None offers none, for
        the agent's text protocol): the agent's step, through the same balancing, circuit breakers, retries and
        deadline as a streamed answer."""
        call.provider = self.name
        deadline = time.monotonic() + self.profile.deadline_s
        avoid: set[str] = set()
        for _ in range(self.profile.max_retries + 1):
            slot = self.balancer.acquire(avoid, deadline)
            began, ok, wall = time.perf_counter(), None, time.time_ns()
            body = {
                "model": slot.endpoint.model or "default",
                "messages": messages,
                **({"tools": tools, "tool_choice": "auto"} if tools else {}),
                "temperature": self.profile.temperature,
                "max_tokens": self.profile.max_tokens,
            }
            left = max(0.1, min(self.profile.timeout_s, deadline - time.monotonic()))
            try:
                response = slot.extra["client"].post("/chat/completions", json=body, timeout=left)
                response.raise_for_status()
                data = response.json()
                message = data["choices"][0]["message"]
                ok = True
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                ok = _health(exc)
                call.attempts.append(Attempt(slot.name, "error", time.perf_counter() - began, _brief(exc), wall))
                if not isinstance(exc, httpx.HTTPError) or not _retryable(exc) or time.monotonic() >= deadline:
                    raise ProviderError(f"{slot.name}: {_brief(exc)}") from exc
                avoid.add(slot.name)
                continue
            finally:
                self.balancer.release(slot, ok=ok, seconds=time.perf_counter() - began)
            call.endpoint = slot.name
            text = json.dumps(messages)
            usage = self._usage(slot, Prompt("", "", text), json.dumps(message), data.get("usage"))
            call.usage.add(usage)
            call.attempts.append(Attempt(slot.name, "ok", time.perf_counter() - began, started_ns=wall))
            return message
        raise ProviderError(f"no endpoint answered within {self.profile.deadline_s:g} s")

    def _open(self, slot: Slot, prompt: Prompt, deadline: float) -> httpx.Response:
        endpoint = slot.endpoint
        body = {
            "model": endpoint.model or "default",
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            "temperature": self.profile.temperature,
            "max_tokens": self.profile.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},  # servers that know it send their own token counts
        }
        left = max(0.1, min(self.profile.timeout_s, deadline - time.monotonic()))
        client: httpx.Client = slot.extra["client"]
        request = client.build_request(
            "POST", "/chat/completions", json=body, timeout=httpx.Timeout(left, connect=min(5.0, left))
        )
        response = client.send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            response.raise_for_status()
        return response

    def _usage(self, slot: Slot, prompt: Prompt, answer: str, reported: dict | None) -> Usage:
        if reported and isinstance(reported.get("prompt_tokens"), int):
            usage = Usage(reported["prompt_tokens"], int(reported.get("completion_tokens") or 0))
        else:
            usage = Usage(estimate_tokens(prompt.system + prompt.user), estimate_tokens(answer), estimated=True)
        e = slot.endpoint
        usage.cost = round((usage.prompt_tokens * e.input_price + usage.completion_tokens * e.output_price) / 1000, 8)
        return usage


def _chunks(response: httpx.Response, where: str) -> Iterator[tuple[str | None, dict | None]]:
    """(text delta, usage) per server-sent event of an OpenAI chat-completion stream. A stream that stops
    before `[DONE]` or a finish reason was cut off (a server killed mid-answer): that is an error."""
    finished = False
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
            choices = chunk.get("choices") or []
            delta = choices[0].get("delta", {}).get("content") if choices else None
            finished = finished or any(c.get("finish_reason") for c in choices)
        except (json.JSONDecodeError, AttributeError, IndexError) as exc:
            raise ProviderError(f"unexpected stream chunk from {where}") from exc
        yield delta, chunk.get("usage")
    if not finished:
        raise ProviderError("the stream ended before [DONE]")


def _brief(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return redact_secrets(str(exc))[:200] or type(exc).__name__  # httpx errors can quote the URL
