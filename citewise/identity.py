"""API keys -> principals. Keys are shown once and stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime

from sqlalchemy import Boolean, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.db import Base, timestamp
from citewise.models import Principal

KEY_PREFIX = "cw_"


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16))  # "key_" + hash prefix: names a key in logs, reveals nothing
    tenant: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    groups: Mapped[str] = mapped_column(Text, default="[]")
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = timestamp()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Identity(Principal):
    admin: bool = False
    key_id: str = ""  # the key's prefix: safe to log, useless to an attacker


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    sessions: sessionmaker, *, tenant: str, user_id: str | None, groups: list[str], admin: bool = False
) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with sessions.begin() as s:
        s.add(
            ApiKey(
                key_hash=_hash(key),
                prefix="key_" + _hash(key)[:8],  # an id for logs and listings, derived from the hash
                tenant=tenant,
                user_id=user_id,
                groups=json.dumps(sorted(set(groups))),
                admin=admin,
            )
        )
    return key


def lookup(sessions: sessionmaker, key: str) -> Identity | None:
    if not key.startswith(KEY_PREFIX):
        return None
    with sessions() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked.is_(False)))
        if row is None:
            return None
        return Identity(
            tenant=row.tenant, user_id=row.user_id, groups=json.loads(row.groups), admin=row.admin, key_id=row.prefix
        )
