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


class GroupMembership(Base):
    """Who is in which group at a source (synced by `MembershipConnector`s): a user's groups at lookup are
    the key's own plus these, so a member removed at the source loses the group's documents on the next sync."""

    __tablename__ = "group_memberships"

    tenant: Mapped[str] = mapped_column(String(200), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    user: Mapped[str] = mapped_column(String(400), primary_key=True)  # user:<email>
    group: Mapped[str] = mapped_column(String(400), primary_key=True)  # a group name, as in group:<name>


def replace_memberships(
    sessions: sessionmaker, tenant: str, source_id: str, pairs: list[tuple[str, str]], groups: set[str] | None = None
) -> None:
    """The source's memberships, as it lists them now (users as `user:<email>`, groups as `group:<name>`):
    all of them, or, with `groups`, those of these groups only (the others keep theirs)."""
    from sqlalchemy import delete

    rows = {(u, g.removeprefix("group:")) for u, g in pairs if u.startswith("user:") and g.startswith("group:")}
    with sessions.begin() as s:
        old = delete(GroupMembership).where(GroupMembership.tenant == tenant, GroupMembership.source_id == source_id)
        if groups is not None:
            old = old.where(GroupMembership.group.in_(sorted(g.removeprefix("group:") for g in groups)))
        s.execute(old)
        s.add_all(GroupMembership(tenant=tenant, source_id=source_id, user=u, group=g) for u, g in sorted(rows))


def stored_groups(sessions: sessionmaker, tenant: str, source_id: str) -> set[str]:
    """The groups (`group:<name>`) the source's last membership sync stored members for."""
    with sessions() as s:
        q = select(GroupMembership.group).where(
            GroupMembership.tenant == tenant, GroupMembership.source_id == source_id
        )
        return {f"group:{g}" for g in s.scalars(q.distinct())}


class IdentityLink(Base):
    """A user's id at a source that names users by its own ids (`user:jira:<account id>`, `user:github:<login>`,
    `user:graph:<object id>`), linked to the user's e-mail: at lookup a key for that e-mail gains the id,
    so ACLs and synced group memberships naming it apply. Applied at query time: a new link needs no sync."""

    __tablename__ = "identity_links"

    tenant: Mapped[str] = mapped_column(String(200), primary_key=True)
    external: Mapped[str] = mapped_column(String(400), primary_key=True)  # user:<source>:<id>
    user_id: Mapped[str] = mapped_column(String(200), index=True)  # the e-mail, as in user:<email>


def link_identity(sessions: sessionmaker, tenant: str, external: str, user_id: str) -> None:
    """Link (or re-link) a source id to a user; `external` is the principal the source's ACLs carry."""
    from citewise.errors import ConfigError

    parts = external.split(":")
    if len(parts) < 3 or parts[0] != "user" or not all(parts[1:]):
        raise ConfigError(f"{external!r} is not a source user id: write it as user:<source>:<id>, "
                          "as the ACLs show it (user:jira:557058:ab12, user:github:hana)")  # fmt: skip
    user = user_id.removeprefix("user:")
    if not user or ":" in user or any(c.isspace() for c in user):
        raise ConfigError(f"{user_id!r} is not a user id: give the e-mail the user's API keys name")
    with sessions.begin() as s:
        s.merge(IdentityLink(tenant=tenant, external=external, user_id=user))


def unlink_identity(sessions: sessionmaker, tenant: str, external: str) -> bool:
    from sqlalchemy import delete

    with sessions.begin() as s:
        return (
            s.execute(
                delete(IdentityLink).where(IdentityLink.tenant == tenant, IdentityLink.external == external)
            ).rowcount
            > 0
        )


def list_links(sessions: sessionmaker, tenant: str) -> list[dict[str, str]]:
    with sessions() as s:
        rows = s.scalars(select(IdentityLink).where(IdentityLink.tenant == tenant).order_by(IdentityLink.external))
        return [{"external": r.external, "user_id": r.user_id} for r in rows]


class Identity(Principal):
    admin: bool = False
    key_id: str = ""  # the key's prefix: safe to log, useless to an attacker


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(key: str) -> str:
    """A key's id for logs and listings, derived from its hash: names the key, reveals nothing."""
    return "key_" + _hash(key)[:8]


def create_key(
    sessions: sessionmaker, *, tenant: str, user_id: str | None, groups: list[str], admin: bool = False
) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with sessions.begin() as s:
        s.add(
            ApiKey(
                key_hash=_hash(key),
                prefix=key_id(key),
                tenant=tenant,
                user_id=user_id,
                groups=json.dumps(sorted(set(groups))),
                admin=admin,
            )
        )
    return key


def list_keys(sessions: sessionmaker, tenant: str) -> list[dict]:
    """The tenant's keys as admins see them: id (the prefix), user, groups, admin, created, revoked; never
    the key or its hash."""
    with sessions() as s:
        rows = s.scalars(select(ApiKey).where(ApiKey.tenant == tenant).order_by(ApiKey.created_at))
        return [{"key_id": r.prefix, "user_id": r.user_id, "groups": json.loads(r.groups), "admin": r.admin,
                 "created_at": r.created_at.isoformat() if r.created_at else None, "revoked": r.revoked}
                for r in rows]  # fmt: skip


def revoke_key(sessions: sessionmaker, tenant: str, key_id: str) -> bool:
    """Revoke a key of the tenant by its id (prefix); its next request is a 401."""
    with sessions.begin() as s:
        rows = list(s.scalars(select(ApiKey).where(ApiKey.tenant == tenant, ApiKey.prefix == key_id)))
        for row in rows:
            row.revoked = True
        return bool(rows)


def lookup(sessions: sessionmaker, key: str) -> Identity | None:
    if not key.startswith(KEY_PREFIX):
        return None
    with sessions() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked.is_(False)))
        if row is None:
            return None
        groups, aliases = json.loads(row.groups), []
        if row.user_id:
            linked = select(IdentityLink.external).where(
                IdentityLink.tenant == row.tenant, IdentityLink.user_id == row.user_id
            )
            aliases = sorted(s.scalars(linked))
            q = select(GroupMembership.group).where(
                GroupMembership.tenant == row.tenant, GroupMembership.user.in_([f"user:{row.user_id}", *aliases])
            )
            groups = sorted({*groups, *s.scalars(q)})
        return Identity(
            tenant=row.tenant, user_id=row.user_id, groups=groups, aliases=aliases, admin=row.admin, key_id=row.prefix
        )
