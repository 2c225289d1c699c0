"""`input_length`: an empty or over-long question is refused before anything runs."""

from __future__ import annotations

from citewise.api.orchestration.guardrails.base import Verdict
from citewise.settings import GuardSettings


class LengthCheck:
    name = "input_length"

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    @classmethod
    def from_settings(cls, settings: GuardSettings, **deps: object) -> LengthCheck:
        return cls(settings.max_question_chars)

    def run(self, question: str, key_id: str) -> Verdict:
        if len(question) > self.max_chars:
            return Verdict(self.name, "block", f"question is {len(question)} characters; the limit is {self.max_chars}")
        if not question.strip():
            return Verdict(self.name, "block", "question is empty")
        return Verdict(self.name, "pass")
