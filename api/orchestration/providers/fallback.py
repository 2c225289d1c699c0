"""The fallback chain: the profile's provider, then its fallbacks, reporting which one answered."""

from __future__ import annotations

from collections.abc import Iterator

from citewise.api.orchestration.providers.base import LlmProvider, Prompt
from citewise.errors import ConfigError, ProviderError


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
