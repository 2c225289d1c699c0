"""Answer generators behind one Protocol, and the fallback chain that reports which one answered.

- `extractive`: no model; the passages' best-matching sentences, each cited. The zero-set-up default.
- `openai`: any OpenAI-compatible endpoint (vLLM, Ollama, TGI, llama.cpp server, OpenAI, Azure), streamed,
  with a timeout and retries with backoff before the first token.
- `llamacpp`: a local GGUF model in-process (optional extra `citewise[llamacpp]`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from api import text as textutil
from citewise.errors import CitewiseError, ConfigError
from citewise.settings import LlmProfile


class ProviderError(CitewiseError):
    """The model could not answer (unreachable, timed out, bad response)."""


@dataclass(slots=True)
class Source:
    n: int
    text: str
    title: str = ""


@dataclass(slots=True)
class Prompt:
    question: str
    system: str
    user: str
    sources: list[Source] = field(default_factory=list)


class LlmProvider(Protocol):
    name: str

    def stream(self, prompt: Prompt) -> Iterator[str]: ...


class ExtractiveProvider:
    """Answers with up to `max_sentences` source sentences that share the most terms with the question."""

    name = "extractive"

    def __init__(self, max_sentences: int = 3, min_relative: float = 0.6) -> None:
        self.max_sentences = max_sentences
        self.min_relative = min_relative

    def stream(self, prompt: Prompt) -> Iterator[str]:
        q_terms = textutil.terms(prompt.question)
        scored: list[tuple[float, int, int, str]] = []
        for rank, src in enumerate(prompt.sources):
            for a, b in textutil.sentence_spans(src.text):
                sentence = src.text[a:b]
                s_terms = textutil.terms(sentence)
                complete = sentence.rstrip()[-1:] in ".!?" or len(sentence.split()) >= 12  # not a heading
                if not s_terms or len(sentence) < 20 or not complete:
                    continue
                overlap = len(q_terms & s_terms) / (len(q_terms) or 1)
                scored.append((overlap - 0.01 * rank, src.n, a, sentence))  # ties go to the better passage
        best = sorted(scored, key=lambda t: t[0], reverse=True)[: self.max_sentences]
        if best and best[0][0] > 0:  # keep sentences nearly as relevant as the best one: fewer stray sources
            best = [b for b in best if b[0] >= self.min_relative * best[0][0]]
        else:
            best = best[:1]
        best.sort(key=lambda t: (t[1], t[2]))  # reading order within and across passages
        for i, (_, n, _, sentence) in enumerate(best):
            body = sentence.rstrip()
            end = body[-1] if body[-1] in ".!?" else "."
            yield ("" if i == 0 else " ") + f"{body.rstrip('.!?')} [{n}]{end}"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


class OpenAIProvider:
    """Streams /chat/completions from an OpenAI-compatible server over plain HTTP (httpx)."""

    name = "openai"

    def __init__(self, profile: LlmProfile) -> None:
        if not profile.base_url:
            raise ConfigError(f"profile {profile.name!r}: the openai provider needs base_url")
        self.profile = profile
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
            raise ProviderError(f"{self.profile.base_url}: {type(exc).__name__}: {_brief(exc)}") from exc
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
                    raise ProviderError(f"unexpected stream chunk from {self.profile.base_url}") from exc
                if delta:
                    yield delta
        except httpx.HTTPError as exc:
            raise ProviderError(f"{self.profile.base_url}: {type(exc).__name__} while streaming") from exc
        finally:
            response.close()


def _brief(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return str(exc)[:200] or type(exc).__name__


class LlamaCppProvider:
    """A GGUF model in-process through llama-cpp-python (install the `llamacpp` extra)."""

    name = "llamacpp"

    def __init__(self, profile: LlmProfile) -> None:
        if not profile.model_path or not profile.model_path.is_file():
            raise ConfigError(f"profile {profile.name!r}: llamacpp needs model_path pointing at a .gguf file")
        self.profile = profile
        self._llm = None

    def stream(self, prompt: Prompt) -> Iterator[str]:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigError("llama-cpp-python is not installed: pip install 'citewise[llamacpp]'") from exc
            self._llm = Llama(model_path=str(self.profile.model_path), n_ctx=4096, verbose=False)
        messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}]
        for chunk in self._llm.create_chat_completion(
            messages=messages, stream=True, temperature=self.profile.temperature, max_tokens=self.profile.max_tokens
        ):
            delta = chunk["choices"][0]["delta"].get("content")
            if delta:
                yield delta


def build_provider(kind: str, profile: LlmProfile) -> LlmProvider:
    if kind == "extractive":
        return ExtractiveProvider()
    if kind == "openai":
        return OpenAIProvider(profile)
    if kind == "llamacpp":
        return LlamaCppProvider(profile)
    raise ConfigError(f"unknown provider {kind!r}; use extractive, openai or llamacpp")


class FallbackChain:
    """Tries the profile's provider, then its fallbacks, until one streams; a failure after the first token
    is reported, not retried elsewhere (the user already saw part of that answer)."""

    def __init__(self, providers: list[LlmProvider]) -> None:
        self.providers = providers
        self.used: str | None = None
        self.failures: list[str] = []

    def stream(self, prompt: Prompt) -> Iterator[str]:
        for provider in self.providers:
            started = False
            try:
                for token in provider.stream(prompt):
                    started = True
                    self.used = provider.name
                    yield token
                if not started:
                    self.used = provider.name
                return
            except (ProviderError, ConfigError) as exc:
                if started:
                    raise
                self.failures.append(f"{provider.name}: {exc}")
        raise ProviderError("every provider failed: " + "; ".join(self.failures))
