"""`openai`: any OpenAI-compatible endpoint (vLLM, Ollama, TGI, llama.cpp server, OpenAI, Azure), streamed,
with a timeout and retries with backoff before the first token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from citewise.api.orchestration.providers.base import Prompt
from citewise.errors import ProviderError
from citewise.redact import redact_secrets
from citewise.settings import OpenAIProfile


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


class OpenAIProvider:
    """Streams /chat/completions from an OpenAI-compatible server over plain HTTP (httpx)."""

    name = "openai"

    def __init__(self, profile: OpenAIProfile) -> None:
        self.profile = profile
        self._where = redact_secrets(profile.base_url)  # errors name the endpoint, never its password
        key = profile.api_key.get_secret_value() if profile.api_key else "none"
        self._client = httpx.Client(
            base_url=profile.base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(profile.timeout_s, connect=min(5.0, profile.timeout_s)),
        )

    def _open(self, prompt: Prompt) -> httpx.Response:
        body = {
            "model": self.profile.model or "default",
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            "temperature": self.profile.temperature,
            "max_tokens": self.profile.max_tokens,
            "stream": True,
        }
        request = self._client.build_request("POST", "/chat/completions", json=body)
        response = self._client.send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            response.raise_for_status()
        return response

    def stream(self, prompt: Prompt) -> Iterator[str]:
        try:
            response = Retrying(
                stop=stop_after_attempt(self.profile.max_retries + 1),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                retry=retry_if_exception(_retryable),
                reraise=True,
            )(self._open, prompt)
        except httpx.HTTPError as exc:
            raise ProviderError(f"{self._where}: {type(exc).__name__}: {_brief(exc)}") from exc
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                except (json.JSONDecodeError, KeyError, IndexError) as exc:
                    raise ProviderError(f"unexpected stream chunk from {self._where}") from exc
                if delta:
                    yield delta
        except httpx.HTTPError as exc:
            raise ProviderError(f"{self._where}: {type(exc).__name__} while streaming") from exc
        finally:
            response.close()


def _brief(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return redact_secrets(str(exc))[:200] or type(exc).__name__  # httpx errors can quote the URL
