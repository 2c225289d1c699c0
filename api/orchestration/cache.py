"""The answer cache: a repeated question over the same passages is answered without calling the LLM.

The key covers everything the answer depends on, so a hit can never cross permissions and a changed source
never serves a stale answer: tenant, the caller's permission set, the normalised question and condensed query,
the conversation summary, the output policies, the retrieved chunk ids (they carry the document version), the
profile and the prompt template's `name@version`. Values expire after `cache.ttl_s`. Backends: the metadata DB
(SQLite in the embedded profile) or Redis (scale-out), chosen by `cache.backend`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import String, Text, delete
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.db import Base, UtcDateTime, utcnow
from citewise.settings import CacheSettings


class CachedAnswer(Base):
    __tablename__ = "answer_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class AnswerCache(Protocol):
    name: str

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


def normalise(question: str) -> str:
    """Case, Unicode form, spacing and trailing punctuation do not make a new question."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return re.sub(r"\s+", " ", text).strip().rstrip("?!.。？！ ")


def answer_key(
    *,
    tenant: str,
    principals: Sequence[str],
    question: str,
    query: str,
    summary: str,
    chunk_ids: Sequence[str],
    profile: str,
    template: str,
    policy: str = "",
) -> str:
    """`policy`: the settings that change an answer after the model wrote it (PII redaction, ...)."""
    material = {
        "tenant": tenant,
        "principals": sorted(principals),
        "question": normalise(question),
        "query": normalise(query),
        "summary": summary,
        "chunks": list(chunk_ids),  # ranked order: a reordering changes the numbered sources
        "profile": profile,
        "template": template,
        "policy": policy,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class DbAnswerCache:
    name = "db"

    def __init__(self, sessions: sessionmaker, ttl_s: int) -> None:
        self.sessions, self.ttl = sessions, timedelta(seconds=ttl_s)
        self._writes = 0

    def get(self, key: str) -> dict[str, Any] | None:
        with self.sessions() as s:
            row = s.get(CachedAnswer, key)
            if row is None or row.expires_at <= utcnow():
                return None
            return json.loads(row.value)

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self.sessions.begin() as s:
            s.merge(CachedAnswer(key=key, value=json.dumps(value), expires_at=utcnow() + self.ttl))
            self._writes += 1
            if self._writes % 200 == 1:  # expired rows go now and then, not on every write
                s.execute(delete(CachedAnswer).where(CachedAnswer.expires_at <= utcnow()))


class RedisAnswerCache:
    name = "redis"

    def __init__(self, url: str, ttl_s: int) -> None:
        import redis

        self.client, self.ttl_s = redis.Redis.from_url(url, socket_timeout=2), ttl_s

    def get(self, key: str) -> dict[str, Any] | None:
        import redis

        try:
            raw = self.client.get(f"citewise:answer:{key}")
        except redis.RedisError:
            return None  # a cache that is down is a miss, never a failed answer
        return json.loads(raw) if raw else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        import redis

        try:
            self.client.set(f"citewise:answer:{key}", json.dumps(value), ex=self.ttl_s)
        except redis.RedisError:
            pass


class NoAnswerCache:
    name = "off"

    def get(self, key: str) -> dict[str, Any] | None:
        return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        pass


def make_answer_cache(settings: CacheSettings, sessions: sessionmaker | None) -> AnswerCache:
    if settings.backend == "redis":
        return RedisAnswerCache(settings.redis_url, settings.ttl_s)
    if settings.backend == "db" and sessions is not None:
        return DbAnswerCache(sessions, settings.ttl_s)
    return NoAnswerCache()
