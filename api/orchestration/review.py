"""Human review: feedback on answers, and a queue of answers a person should look at.

An answer enters the queue when it was flagged (not grounded, a guardrail acted, the route was a guess, the
gateway degraded to the extractive answer) or when its asker rated it down. A reviewer resolves an item with
the answer it should have given, or says it should have been refused; `export` turns resolved items into the
QA file `citewise eval answers` reads, so reviewed failures become regression tests.

The queue keeps the question and answer text (a reviewer needs them; admins of the tenant only). Feedback on
an answer that was not flagged finds its text in a bounded in-memory record of recent answers; after a
restart such an item has no text, and says so.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.api.orchestration.audit import AuditRow
from citewise.api.orchestration.sessions import owner_of
from citewise.db import Base, UtcDateTime, utcnow
from citewise.errors import NotFoundError
from citewise.identity import Identity

_ACTED = {"block", "warn", "neutralise", "removed", "redact", "trimmed"}  # guardrail verdicts worth a look


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[str] = mapped_column(String(200))
    trace_id: Mapped[str] = mapped_column(String(64), index=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")


class ReviewRow(Base):
    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("tenant", "trace_id", name="uq_review_trace"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    trace_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(200))
    reasons: Mapped[str] = mapped_column(Text)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    sources: Mapped[str] = mapped_column(Text, default="[]")
    flags: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(16), default="open")
    expected_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    should_refuse: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ReviewItem(BaseModel):
    id: int
    at: datetime
    trace_id: str
    user_id: str
    reasons: list[str]
    question: str | None
    answer: str | None
    sources: list[dict]
    flags: list[str]
    status: Literal["open", "resolved"]
    expected_answer: str | None
    should_refuse: bool
    note: str


def reasons_for(result) -> list[str]:  # noqa: ANN001 (a ChatResult)
    """Why an answer deserves a person's look (empty: it does not)."""
    reasons = []
    if not result.refused and not result.grounded and (result.route is None or result.route.name == "knowledge"):
        reasons.append("ungrounded")
    if any(v in _ACTED for k, v in result.checks.items() if k not in ("context",)):
        reasons.append("guardrail")
    if result.route is not None and result.route.reason == "unsure":
        reasons.append("low_confidence_route")
    if any(f.startswith("degraded:") for f in result.flags):
        reasons.append("degraded")
    if any(f.startswith("agent_stopped:") for f in result.flags):
        reasons.append("agent_limit")
    return reasons


class ReviewQueue:
    def __init__(self, sessions: sessionmaker, recent: int = 10_000) -> None:
        self.sessions = sessions
        self._recent: OrderedDict[str, tuple[str, str, str, list, list]] = OrderedDict()
        self._size = recent
        self._lock = threading.Lock()

    def consider(self, identity: Identity, trace_id: str, question: str, result) -> None:  # noqa: ANN001
        """Called once per answer: remember it briefly, and queue it when it was flagged."""
        sources = [s.model_dump(include={"n", "doc_id", "chunk_id", "title"}) for s in result.sources]
        with self._lock:
            self._recent[trace_id] = (identity.tenant, question, result.answer, sources, list(result.flags))
            if len(self._recent) > self._size:
                self._recent.popitem(last=False)
        reasons = reasons_for(result)
        if reasons:
            self._queue(identity.tenant, owner_of(identity), trace_id, reasons)

    def _queue(self, tenant: str, user_id: str, trace_id: str, reasons: list[str]) -> None:
        with self._lock:
            known = self._recent.get(trace_id)
        question, answer, sources, flags = known[1:] if known and known[0] == tenant else (None, None, [], [])
        with self.sessions.begin() as s:
            row = s.scalar(select(ReviewRow).where(ReviewRow.tenant == tenant, ReviewRow.trace_id == trace_id))
            if row is None:
                s.add(
                    ReviewRow(
                        tenant=tenant,
                        trace_id=trace_id,
                        user_id=user_id,
                        reasons=json.dumps(reasons),
                        question=question,
                        answer=answer,
                        sources=json.dumps(sources),
                        flags=json.dumps(flags),
                        note="" if question is not None else "question text no longer known (server restarted)",
                    )
                )
            else:
                row.reasons = json.dumps(sorted(set(json.loads(row.reasons)) | set(reasons)))
                row.status = "open"

    def feedback(self, identity: Identity, trace_id: str, rating: str, comment: str) -> None:
        """The asker's rating of one of their own answers (another principal's trace is not found)."""
        with self.sessions() as s:
            mine = s.scalar(
                select(AuditRow.id).where(
                    AuditRow.trace_id == trace_id,
                    AuditRow.tenant == identity.tenant,
                    AuditRow.user_id == owner_of(identity),
                )
            )
        if mine is None:
            raise NotFoundError(f"no answer with trace id {trace_id!r} for this key")
        with self.sessions.begin() as s:
            s.add(
                Feedback(
                    tenant=identity.tenant, user_id=owner_of(identity), trace_id=trace_id, rating=rating,
                    comment=comment,
                )
            )  # fmt: skip
        if rating == "down":
            self._queue(identity.tenant, owner_of(identity), trace_id, ["negative_feedback"])

    def items(self, tenant: str, status: str | None = "open", limit: int = 100) -> list[ReviewItem]:
        query = select(ReviewRow).where(ReviewRow.tenant == tenant)
        if status:
            query = query.where(ReviewRow.status == status)
        with self.sessions() as s:
            rows = s.scalars(query.order_by(ReviewRow.id.desc()).limit(limit)).all()
        return [self._item(r) for r in rows]

    def resolve(
        self, tenant: str, item_id: int, *, expected_answer: str | None, should_refuse: bool, note: str
    ) -> ReviewItem:
        with self.sessions.begin() as s:
            row = s.get(ReviewRow, item_id)
            if row is None or row.tenant != tenant:
                raise NotFoundError(f"no review item {item_id}")
            row.status, row.expected_answer, row.should_refuse = "resolved", expected_answer, should_refuse
            row.note, row.resolved_at = note, utcnow()
            return self._item(row)

    def export(self, tenant: str) -> list[dict]:
        """Resolved items with a verdict, as `citewise eval answers` lines (no answers = should be refused)."""
        out = []
        for item in self.items(tenant, status="resolved", limit=100_000):
            if not item.question or not (item.should_refuse or item.expected_answer):
                continue
            out.append({"question": item.question, "answers": [] if item.should_refuse else [item.expected_answer]})
        return out

    @staticmethod
    def _item(r: ReviewRow) -> ReviewItem:
        return ReviewItem(
            id=r.id, at=r.at, trace_id=r.trace_id, user_id=r.user_id, reasons=json.loads(r.reasons),
            question=r.question, answer=r.answer, sources=json.loads(r.sources), flags=json.loads(r.flags),
            status=r.status, expected_answer=r.expected_answer, should_refuse=r.should_refuse, note=r.note,
        )  # fmt: skip
