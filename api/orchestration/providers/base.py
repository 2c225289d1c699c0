"""The LLM provider contract: what a provider is given (a Prompt with numbered Sources), what it yields
(text), and what it reports back about the call (a `Call`: endpoint, tokens, cost, failed attempts)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


def estimate_tokens(text: str) -> int:
    """A conservative token count (UTF-8 bytes / 3.5: English runs ~4 characters a token, CJK ~1 character),
    used where a server does not report its own."""
    return math.ceil(len(text.encode("utf-8")) / 3.5)


@dataclass(slots=True)
class Source:
    n: int
    text: str
    title: str = ""
    section: str = ""  # the passage's innermost heading: what its sentences are about


@dataclass(slots=True)
class Prompt:
    question: str
    system: str
    user: str
    sources: list[Source] = field(default_factory=list)


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    estimated: bool = False  # counted by Citewise, not reported by the server

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost += other.cost
        self.estimated = self.estimated or other.estimated


@dataclass(slots=True)
class Attempt:
    endpoint: str
    outcome: str  # ok | error | timeout | interrupted
    seconds: float
    error: str = ""
    started_ns: int = 0  # wall clock (time.time_ns) when the attempt began, for its trace span


@dataclass(slots=True)
class Call:
    """What one generation reports: the endpoint that answered, its usage, and every attempt on the way."""

    provider: str = ""
    endpoint: str | None = None
    usage: Usage = field(default_factory=Usage)
    attempts: list[Attempt] = field(default_factory=list)
    ensemble: dict | None = None  # an ensemble's members, their scores and the one chosen


class LlmProvider(Protocol):
    name: str

    def stream(self, prompt: Prompt, call: Call) -> Iterator[str]:
        """Yield the answer's text; fill `call` (endpoint, usage, attempts). Raise ProviderError on failure."""
        ...
