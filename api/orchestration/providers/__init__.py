"""LLM providers behind one Protocol, found by name in `PROVIDERS` (third-party: entry point group
`citewise.llm_providers`, a factory taking the profile). Adding one: a module here + one line below."""

from __future__ import annotations

from citewise.api.orchestration.providers.base import Call, LlmProvider, Prompt, Source, Usage
from citewise.api.orchestration.providers.fallback import FallbackChain
from citewise.registry import Registry
from citewise.settings import LlmProfile, profile_as

PROVIDERS: Registry = Registry(
    "provider",
    "citewise.llm_providers",
    {
        "extractive": "citewise.api.orchestration.providers.extractive:ExtractiveProvider.from_profile",
        "openai": "citewise.api.orchestration.providers.openai:OpenAIProvider",
        "llamacpp": "citewise.api.orchestration.providers.llamacpp:LlamaCppProvider",
        "ensemble": "citewise.api.orchestration.providers.ensemble:EnsembleProvider",
    },
)


def build_provider(kind: str, profile: LlmProfile) -> LlmProvider:
    """Provider `kind` for `profile` (its own provider or one of its fallbacks)."""
    return PROVIDERS.get(kind)(profile_as(kind, profile))


__all__ = ["PROVIDERS", "Call", "FallbackChain", "LlmProvider", "Prompt", "Source", "Usage", "build_provider"]
