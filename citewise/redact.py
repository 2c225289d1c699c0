"""Redaction of personal data and secrets: for every log line, and optionally for answers."""

from __future__ import annotations

import re

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
