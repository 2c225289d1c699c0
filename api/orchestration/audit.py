"""The audit log: one row per answer (who, when, which sources and versions, template, profile, endpoint,
tokens, cost, flags), readable by the tenant's admins (`GET /v1/audit`, `citewise audit`).

The question itself is stored only when `telemetry.record_question_text` allows it; its SHA-256 always is,
so repeated questions can be found without keeping their text. Rows older than the retention are deleted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Boolean, Float, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.api.orchestration.sessions import owner_of
from citewise.db import Base, UtcDateTime, utcnow
from citewise.identity import Identity
from citewise.settings import TelemetrySettings


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(64))
    trace_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    question_sha256: Mapped[str] = mapped_column(String(64))
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    profile: Mapped[str | None] = mapped_column(String(200), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(100), nullable=True)
    endpoint: Mapped[str | None] = mapped_column(Text, nullable=True)
    template: Mapped[str | None] = mapped_column(String(120), nullable=True)
    sources: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float] = mapped_column(Float)
    cached: Mapped[bool] = mapped_column(Boolean)
    flags: Mapped[str] = mapped_column(Text)


class AuditSource(BaseModel):
    n: int
    doc_id: str
    chunk_id: str  # carries the document version
    title: str


class AuditEntry(BaseModel):
    id: int
    at: datetime
    tenant: str
    user_id: str
    key_id: str
    trace_id: str
    session_id: str | None
    question_sha256: str
    question: str | None
    outcome: str
    profile: str | None
    provider: str | None
    endpoint: str | None
    template: str | None
    sources: list[AuditSource]
    prompt_tokens: int
    completion_tokens: int
    cost: float
    cached: bool
    flags: list[str]


class AuditLog:
    def __init__(self, sessions: sessionmaker, settings: TelemetrySettings) -> None:
        self.sessions, self.settings = sessions, settings
        self._pruned_at = 0.0
        self._lock = threading.Lock()

    def record(self, identity: Identity, trace_id: str, question: str, result) -> None:  # noqa: ANN001 (ChatResult)
        outcome = "refused" if result.refused else ("grounded" if result.grounded else "ungrounded")
        sources = [
            AuditSource(n=s.n, doc_id=s.doc_id, chunk_id=s.chunk_id, title=s.title).model_dump() for s in result.sources
        ]
        row = AuditRow(
            tenant=identity.tenant,
            user_id=owner_of(identity),
            key_id=identity.key_id,
            trace_id=trace_id,
            session_id=result.session_id,
            question_sha256=hashlib.sha256(question.encode()).hexdigest(),
            question=question if self.settings.record_question_text else None,
            outcome=outcome,
            profile=result.profile,
            provider=result.provider,
            endpoint=result.endpoint,
            template=result.template,
            sources=json.dumps(sources),
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cost=result.usage.cost,
            cached="cache:hit" in result.flags,
            flags=json.dumps(result.flags),
        )
        with self.sessions.begin() as s:
            s.add(row)
        self._prune_now_and_then()

    def _prune_now_and_then(self) -> None:
        with self._lock:
            if time.monotonic() - self._pruned_at < 3600:
                return
            self._pruned_at = time.monotonic()
        self.prune()

    def prune(self) -> int:
        cutoff = utcnow() - timedelta(days=self.settings.audit_retention_days)
        with self.sessions.begin() as s:
            return s.execute(delete(AuditRow).where(AuditRow.at < cutoff)).rowcount or 0

    def entries(
        self, tenant: str, *, limit: int = 100, before_id: int | None = None, user_id: str | None = None
    ) -> list[AuditEntry]:
        query = select(AuditRow).where(AuditRow.tenant == tenant)
        if before_id is not None:
            query = query.where(AuditRow.id < before_id)
        if user_id is not None:
            query = query.where(AuditRow.user_id == user_id)
        with self.sessions() as s:
            rows = s.scalars(query.order_by(AuditRow.id.desc()).limit(limit)).all()
        return [
            AuditEntry.model_validate(
                {
                    **{c: getattr(r, c) for c in AuditEntry.model_fields if c not in ("sources", "flags")},
                    "sources": json.loads(r.sources),
                    "flags": json.loads(r.flags),
                }
            )
            for r in rows
        ]
