"""Conversation memory: chat sessions and their messages, owned by one principal (tenant + user, or the
API key itself when it acts for no user). Every message is kept; past a token budget the older ones are
represented by a stored summary (`memory.py` writes it), so a long conversation still fits the prompt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.db import Base, timestamp
from citewise.errors import NotFoundError
from citewise.models import Principal


class ChatSession(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = timestamp()
    summary: Mapped[str] = mapped_column(Text, default="")  # of every message up to `summary_upto`
    summary_upto: Mapped[int] = mapped_column(Integer, default=0)  # a ChatMessage id


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp()


def owner_of(principal: Principal) -> str:
    """Who owns a session: the user, or the API key itself when the key acts for no user (two user-less keys
    of one tenant never share a conversation)."""
    if principal.user_id:
        return principal.user_id
    key_id = getattr(principal, "key_id", "")
    return f"key:{key_id}" if key_id else ""


class SessionStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def open(self, principal: Principal, session_id: str | None) -> tuple[str, Memory]:
        """(session id, memory) for the caller; a new session without an id. An unknown id, or one that
        belongs to someone else, is not found (the two are not told apart)."""
        with self.sessions.begin() as s:
            if session_id is None:
                sid = str(uuid.uuid4())
                s.add(ChatSession(id=sid, tenant=principal.tenant, user_id=owner_of(principal)))
                return sid, Memory()
            row = s.get(ChatSession, session_id)
            if row is None or row.tenant != principal.tenant or row.user_id != owner_of(principal):
                raise NotFoundError(f"unknown session {session_id!r}")
            msgs = s.scalars(
                select(ChatMessage)
                .where(ChatMessage.session_id == session_id, ChatMessage.id > row.summary_upto)
                .order_by(ChatMessage.id)
            ).all()
            return session_id, Memory(
                summary=row.summary, turns=[(m.role, m.content) for m in msgs], ids=[m.id for m in msgs]
            )

    def append(self, session_id: str, question: str, answer: str) -> None:
        with self.sessions.begin() as s:
            s.add(ChatMessage(session_id=session_id, role="user", content=question))
            s.add(ChatMessage(session_id=session_id, role="assistant", content=answer))

    def save_summary(self, session_id: str, summary: str, upto: int) -> None:
        with self.sessions.begin() as s:
            row = s.get(ChatSession, session_id)
            if row is not None and upto > row.summary_upto:
                row.summary, row.summary_upto = summary, upto

    def history(self, principal: Principal, session_id: str) -> list[tuple[str, str]]:
        """Every message of the caller's session, summarised ones included (the whole history is kept)."""
        self.open(principal, session_id)  # ownership check
        with self.sessions() as s:
            msgs = s.scalars(
                select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.id)
            ).all()
        return [(m.role, m.content) for m in msgs]


@dataclass
class Memory:
    """What a turn knows of its conversation: a summary of older messages and the messages after it."""

    summary: str = ""
    turns: list[tuple[str, str]] = field(default_factory=list)  # (role, text), oldest first
    ids: list[int] = field(default_factory=list)  # message ids of `turns` (empty for OpenAI-style history)
