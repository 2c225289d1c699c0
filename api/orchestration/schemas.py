"""What a chat turn takes and gives: the request, the result, the streamed events and the shared turn state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool

from citewise.api.orchestration.citations import Citation, SourceRef
from citewise.api.orchestration.providers.base import Call, Usage
from citewise.api.orchestration.routing import Route
from citewise.api.orchestration.sessions import Memory
from citewise.identity import Identity
from citewise.models import SearchHit
from citewise.retrieval.retriever import SearchFilters

RouteName = Literal["knowledge", "conversational", "out_of_scope", "multi_step", "structured"]


class ChatRequest(BaseModel):
    question: str = Field(min_length=1, max_length=20_000)
    session_id: str | None = None
    filters: SearchFilters | None = None
    stream: StrictBool = False
    profile: str | None = Field(None, description="answering profile; default from settings")
    prompt: str | None = Field(None, description="prompt template (answer, answer@2); default from the profile")
    route: RouteName | None = Field(None, description="skip the router and take this route")
    mode: Literal["pipeline", "agent"] | None = Field(
        None, description="agent: the LLM calls tools in a bounded loop (multi_step questions do by default)"
    )


class SourceOut(SourceRef):
    score: float


class UsageOut(BaseModel):
    """Tokens and cost of the answer: the server's own counts when it sent them, else Citewise's estimate.
    Failed attempts before the answer are included (they were paid for)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    estimated: bool = False

    @classmethod
    def of(cls, calls: list[Call]) -> UsageOut:
        total = Usage()
        for call in calls:
            total.add(call.usage)
        return cls(
            prompt_tokens=total.prompt_tokens,
            completion_tokens=total.completion_tokens,
            total_tokens=total.prompt_tokens + total.completion_tokens,
            cost=round(total.cost, 8),
            estimated=total.estimated,
        )


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
    profile: str | None = None
    provider: str | None = Field(None, description="the provider kind that answered (openai, extractive, ...)")
    endpoint: str | None = Field(None, description="the model server that answered")
    template: str | None = Field(None, description="the prompt template the answer was built from (name@version)")
    route: Route | None = Field(None, description="where the router sent the question, and how sure it was")
    steps: list[dict] = Field(default_factory=list, description="the agent's tool calls and answer, in order")
    stop_reason: str | None = Field(None, description="why the agent stopped: answer or the limit it reached")
    ensemble: dict | None = Field(
        None, description="an ensemble profile's members (grounding, agreement), the one chosen, mean agreement"
    )
    usage: UsageOut = Field(default_factory=UsageOut)


@dataclass(slots=True)
class Event:
    type: str  # retrieval | token | reset (discard the tokens so far) | citation | guardrail | done | error
    data: Any


@dataclass
class Turn:
    """What the steps share for one question."""

    identity: Identity
    request: ChatRequest
    trace_id: str
    memory: Memory = field(default_factory=Memory)
    query: str = ""
    summary: str = ""
    new_summary: tuple[str, int] | None = None  # to store with the session once the turn is done
    profile: str | None = None
    template: str | None = None
    cached: bool = False
    route: Route | None = None
    steps: list[dict] = field(default_factory=list)
    stop_reason: str | None = None
    ensemble: dict | None = None
    hits: list[SearchHit] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)  # every provider call of this turn, failed ones included
    call: Call | None = None  # the call that answered
