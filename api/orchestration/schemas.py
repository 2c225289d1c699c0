"""What a chat turn takes and gives: the request, the result, the streamed events and the shared turn state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, StrictBool

from citewise.api.orchestration.citations import Citation, SourceRef
from citewise.identity import Identity
from citewise.models import SearchHit
from citewise.retrieval.retriever import SearchFilters


class ChatRequest(BaseModel):
    question: str = Field(min_length=1, max_length=20_000)
    session_id: str | None = None
    filters: SearchFilters | None = None
    stream: StrictBool = False
    profile: str | None = Field(None, description="answering profile; default from settings")


class SourceOut(SourceRef):
    score: float


class ChatResult(BaseModel):
    answer: str
    citations: list[Citation]
    grounded: bool
    refused: bool
    flags: list[str]
    checks: dict[str, str] = Field(default_factory=dict, description="every guardrail's verdict, pass included")
    session_id: str | None
    trace_id: str
    timings: dict[str, float]
    sources: list[SourceOut] = Field(default_factory=list)
    provider: str | None = None


@dataclass(slots=True)
class Event:
    type: str  # retrieval | token | citation | guardrail | done | error
    data: Any


@dataclass
class Turn:
    """What the steps share for one question."""

    identity: Identity
    request: ChatRequest
    trace_id: str
    history: list[tuple[str, str]] = field(default_factory=list)
    query: str = ""
    hits: list[SearchHit] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
