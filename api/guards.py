"""Guardrails: small checks with one interface; each verdict is reported in the answer's `flags`.

Input: length, per-key rate limit, prompt injection in the question (block or warn).
Sources: instruction-like text inside retrieved passages is neutralised before the prompt is built.
Output: PII redaction (always for logs, optionally for answers); citation validity and groundedness
live in `api.citations`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

from citewise.settings import GuardSettings

Action = Literal["pass", "warn", "block", "redact", "neutralise"]


@dataclass(frozen=True, slots=True)
class Verdict:
    check: str
    action: Action
    detail: str = ""

    @property
    def flag(self) -> str:
        return f"{self.check}:{self.action}" + (f":{self.detail}" if self.detail else "")


class InputCheck(Protocol):
    name: str

    def run(self, question: str, key_id: str) -> Verdict: ...


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


class LengthCheck:
    name = "input_length"

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    def run(self, question: str, key_id: str) -> Verdict:
        if len(question) > self.max_chars:
            return Verdict(self.name, "block", f"question is {len(question)} characters; the limit is {self.max_chars}")
        if not question.strip():
            return Verdict(self.name, "block", "question is empty")
        return Verdict(self.name, "pass")


class RateLimit:
    """Sliding one-minute window per API key, in process (the scale-out profile would move it to Redis)."""

    name = "rate_limit"

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def run(self, question: str, key_id: str) -> Verdict:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key_id, deque())
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return Verdict(self.name, "block", f"more than {self.per_minute} requests a minute for this key")
            hits.append(now)
        return Verdict(self.name, "pass")


class QuestionInjection:
    name = "prompt_injection"

    def __init__(self, action: Literal["block", "warn"]) -> None:
        self.action = action

    def run(self, question: str, key_id: str) -> Verdict:
        found = find_injection(question)
        if found:
            return Verdict(self.name, self.action, f"instruction-like text: {found[0].group(0)[:60]!r}")
        return Verdict(self.name, "pass")


def input_checks(settings: GuardSettings) -> list[InputCheck]:
    """Checks on the question; the per-key RateLimit runs earlier, at authentication (HTTP 429)."""
    return [LengthCheck(settings.max_question_chars), QuestionInjection(settings.injection_in_question)]


def neutralise_source(text: str) -> tuple[str, bool]:
    """Replace instruction-like spans inside a retrieved passage; the model never sees them as orders."""
    found = find_injection(text)
    if not found:
        return text, False
    return _INJECTION.sub("[instruction-like text removed]", text), True


_PII = [
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    ("card", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}\b")),
    ("phone", re.compile(r"(?<!\w)\+?\d[\d ()-]{7,}\d\b")),
    ("api_key", re.compile(r"\b(cw_[\w-]{20,}|sk-[\w-]{16,})")),
]


def redact_pii(text: str) -> tuple[str, list[str]]:
    kinds = []
    for kind, pattern in _PII:
        text, n = pattern.subn(f"[{kind}]", text)
        if n:
            kinds.append(kind)
    return text, kinds
