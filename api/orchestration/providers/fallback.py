"""The fallback chain: the profile's provider, then its fallbacks (other profiles or providers), reporting
which one answered. The last resort is usually `extractive`: the answer is still grounded, just not written
by a model (graceful degradation, flagged by the pipeline)."""

from __future__ import annotations

from collections.abc import Iterator

from citewise.api.orchestration.providers.base import Call, LlmProvider, Prompt
from citewise.errors import ConfigError, ProviderError, SaturatedError


class FallbackChain:
    """Tries each provider in turn until one streams; a failure after the first token is raised, not retried
    elsewhere (the pipeline decides). Saturation is raised too unless a later model-backed provider can take
    the request: busy servers get a 503 and Retry-After, not a silent downgrade."""

    def __init__(self, providers: list[tuple[str, LlmProvider]]) -> None:
        self.providers = providers  # (label, provider): label is the profile or provider kind
        self.used: str | None = None
        self.call = Call()
        self.failures: list[str] = []
        self.calls: list[Call] = []

    def stream(self, prompt: Prompt) -> Iterator[str]:
        for i, (label, provider) in enumerate(self.providers):
            call = Call(provider=provider.name)
            self.calls.append(call)
            started = False
            try:
                for token in provider.stream(prompt, call):
                    started = True
                    self.used, self.call = label, call
                    yield token
                self.used, self.call = label, call
                return
            except SaturatedError:
                if not any(p.name != "extractive" for _, p in self.providers[i + 1 :]):
                    raise
                self.failures.append(f"{label}: saturated")
            except (ProviderError, ConfigError) as exc:
                if started:
                    raise
                self.failures.append(f"{label}: {exc}")
        raise ProviderError("every provider failed: " + "; ".join(self.failures))
