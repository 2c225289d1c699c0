"""The LLM provider contract: what a provider is given (a Prompt with numbered Sources) and what it yields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class Source:
    n: int
    text: str
    title: str = ""


@dataclass(slots=True)
class Prompt:
    question: str
    system: str
    user: str
    sources: list[Source] = field(default_factory=list)


class LlmProvider(Protocol):
    name: str

    def stream(self, prompt: Prompt) -> Iterator[str]: ...
