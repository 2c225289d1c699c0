"""`prompt_injection`: instruction-like text in the question (block or warn) and in retrieved passages
(neutralised before the prompt is built)."""

from __future__ import annotations

import re
from typing import Literal

from citewise.api.orchestration.guardrails.base import Verdict
from citewise.settings import GuardSettings

_INJECTION = re.compile(
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier|system)?\s*"
    r"(instructions?|prompts?|rules|context|guidelines)"
    r"|you\s+are\s+now\s+(a|an|in)\b"
    r"|(reveal|print|show|repeat|leak)\s+(the\s+|your\s+)*(system\s+prompt|hidden\s+instructions?|api\s+keys?)"
    r"|\bdo\s+anything\s+now\b|\bDAN\s+mode\b|\bjailbreak\b"
    r"|</?\s*(system|assistant)\s*>|\[\s*(system|INST)\s*\]",
    re.IGNORECASE,
)


def find_injection(text: str) -> list[re.Match[str]]:
    return list(_INJECTION.finditer(text))


class QuestionInjection:
    name = "prompt_injection"

    def __init__(self, action: Literal["block", "warn"]) -> None:
        self.action = action

    @classmethod
    def from_settings(cls, settings: GuardSettings) -> QuestionInjection:
        return cls(settings.injection_in_question)

    def run(self, question: str, key_id: str) -> Verdict:
        found = find_injection(question)
        if found:
            return Verdict(self.name, self.action, f"instruction-like text: {found[0].group(0)[:60]!r}")
        return Verdict(self.name, "pass")


def neutralise_source(text: str) -> tuple[str, bool]:
    """Replace instruction-like spans inside a retrieved passage; the model never sees them as orders."""
    found = find_injection(text)
    if not found:
        return text, False
    return _INJECTION.sub("[instruction-like text removed]", text), True
