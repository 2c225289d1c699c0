"""Redaction of personal data and secrets: for every log line, and optionally for answers."""

from __future__ import annotations

import re

# Secrets that ride in URLs and strings: user:password@ and key-like query parameters.
_URL_SECRETS = [
    (re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@"), "[credentials]@"),
    (re.compile(r"(?i)([?&;](?:api[_-]?key|access[_-]?token|token|secret|password|passwd|pwd|sig|signature)=)[^&#\s]+"),
     r"\1[secret]"),
]  # fmt: skip
_API_KEY = re.compile(r"\b(cw_[\w-]{20,}|sk-[\w-]{16,})")


def redact_secrets(text: str) -> str:
    """Credentials in URLs, key-like query parameters and API keys replaced: for errors and log lines."""
    for pattern, replacement in _URL_SECRETS:
        text = pattern.sub(replacement, text)
    return _API_KEY.sub("[api_key]", text)


_PII = [
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    ("card", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}\b")),
    ("phone", re.compile(r"(?<!\w)\+?\d[\d ()-]{7,}\d\b")),
    ("api_key", _API_KEY),
]


def redact_pii(text: str) -> tuple[str, list[str]]:
    """Personal data and secrets replaced by their kind ("[email]"); returns the kinds found."""
    kinds = []
    for pattern, replacement in _URL_SECRETS:
        text, n = pattern.subn(replacement, text)
        if n and "secret" not in kinds:
            kinds.append("secret")
    for kind, pattern in _PII:
        text, n = pattern.subn(f"[{kind}]", text)
        if n:
            kinds.append(kind)
    return text, kinds
