"""The guardrail contract: a check returns a Verdict, and every verdict is reported in the answer's checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Action = Literal["pass", "warn", "block", "redact", "neutralise"]


@dataclass(frozen=True, slots=True)
class Verdict:
    check: str
    action: Action
    detail: str = ""
    retry_after_s: int | None = None  # for a block that lifts by itself (the rate limit)

    @property
    def flag(self) -> str:
        return f"{self.check}:{self.action}" + (f":{self.detail}" if self.detail else "")


class InputCheck(Protocol):
    name: str

    def run(self, question: str, key_id: str) -> Verdict: ...
