"""Guardrails: small checks with one interface; each verdict is reported in the answer's `checks` and `flags`.

Input: length and prompt injection in the question (block or warn), run in the order of
`guards.input_checks`, each found by name in `GUARDRAILS` (third-party: entry point group
`citewise.guardrails`, a factory taking GuardSettings); the per-key rate limit runs at authentication.
Sources: instruction-like text inside retrieved passages is neutralised before the prompt is built.
Output: PII redaction (`citewise.redact`, always for logs, optionally for answers); citation validity and
groundedness live in `citations`.
"""

from __future__ import annotations

from citewise.api.orchestration.guardrails.base import Action, InputCheck, Verdict
from citewise.api.orchestration.guardrails.injection import find_injection, neutralise_source
from citewise.api.orchestration.guardrails.rate_limit import RateLimit
from citewise.redact import redact_pii
from citewise.registry import Registry
from citewise.settings import GuardSettings

GUARDRAILS: Registry = Registry(
    "guardrail",
    "citewise.guardrails",
    {
        "input_length": "citewise.api.orchestration.guardrails.length:LengthCheck.from_settings",
        "prompt_injection": "citewise.api.orchestration.guardrails.injection:QuestionInjection.from_settings",
    },
)


def input_checks(settings: GuardSettings, **deps: object) -> list[InputCheck]:
    """The configured checks on the question, in order. `deps` are what a check may use if given (`embed`:
    the dense encoder's query embedding, for the injection similarity check)."""
    return [GUARDRAILS.get(name)(settings, **deps) for name in settings.input_checks]


__all__ = [
    "GUARDRAILS",
    "Action",
    "InputCheck",
    "RateLimit",
    "Verdict",
    "find_injection",
    "input_checks",
    "neutralise_source",
    "redact_pii",
]
