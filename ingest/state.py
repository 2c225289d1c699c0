"""Sync state and the embedding cache, in the metadata DB.

A document row is written as `pending` before its points are touched and becomes `indexed` only after
the index holds its new chunks and no stale ones. A crash in between leaves `pending`, which the next
run treats as changed (or, if the item is gone, as deleted): re-runs converge to a clean run's index.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import Integer, LargeBinary, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.db import Base, timestamp


class DocumentState(Base):
    __tablename__ = "documents"

    doc_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    collection: Mapped[str] = mapped_column(String(200), index=True)
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    source_id: Mapped[str] = mapped_column(String(1000), index=True)
    key: Mapped[str] = mapped_column(Text)
    uri: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # pending | indexed | failed
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)  # of the indexed version
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_version: Mapped[str | None] = mapped_column(Text, nullable=True)  # ETag, commit, updated-at at the source
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the fingerprint without the ACL
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = timestamp(updated=True)


class EmbeddingCacheEntry(Base):
    __tablename__ = "embedding_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(model id + embedded text)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class SyncCursor(Base):
    """Where a change-feed source's next sync starts (a delta link, a page token), per source and tenant."""

    __tablename__ = "sync_cursors"

    source_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)


class SyncState:
    def __init__(self, sessions: sessionmaker, collection: str) -> None:
        self.sessions = sessions
        self.collection = collection

    def for_source(self, source_id: str, tenant: str) -> dict[str, DocumentState]:
        """Documents of one source as synced into one tenant (the same folder may feed several tenants)."""
        with self.sessions() as s:
            rows = s.scalars(
                select(DocumentState).where(
                    DocumentState.collection == self.collection,
                    DocumentState.source_id == source_id,
                    DocumentState.tenant == tenant,
                )
            )
            return {r.doc_id: r for r in rows}

    def pending(self, *, source_id: str | None = None, uri_prefix: str | None = None) -> list[DocumentState]:
        """Documents whose last write did not finish (a crash, a full disk)."""
        with self.sessions() as s:
            q = select(DocumentState).where(
                DocumentState.collection == self.collection, DocumentState.status == "pending"
            )
            if source_id is not None:
                q = q.where(DocumentState.source_id == source_id)
            if uri_prefix is not None:
                q = q.where(DocumentState.uri.startswith(uri_prefix, autoescape=True))
            return list(s.scalars(q))

    def set_status(self, doc_id: str, status: str, **fields: object) -> None:
        with self.sessions.begin() as s:
            row = s.get(DocumentState, doc_id)
            if row is not None:
                row.status = status
                for key, value in fields.items():
                    setattr(row, key, value)

    def upsert(self, rows: list[dict]) -> None:
        if not rows:
            return
        with self.sessions.begin() as s:
            existing = {
                r.doc_id: r
                for r in s.scalars(select(DocumentState).where(DocumentState.doc_id.in_([r["doc_id"] for r in rows])))
            }
            for row in rows:
                obj = existing.get(row["doc_id"])
                if obj is None:
                    s.add(DocumentState(collection=self.collection, **row))
                else:
                    for k, v in row.items():
                        setattr(obj, k, v)

    def cursor(self, source_id: str, tenant: str) -> str | None:
        with self.sessions() as s:
            row = s.get(SyncCursor, (source_id, tenant))
            return row.cursor if row is not None else None

    def save_cursor(self, source_id: str, tenant: str, cursor: str | None) -> None:
        with self.sessions.begin() as s:
            row = s.get(SyncCursor, (source_id, tenant))
            if cursor is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(SyncCursor(source_id=source_id, tenant=tenant, cursor=cursor))
            else:
                row.cursor = cursor

    def remove(self, doc_ids: list[str]) -> None:
        """The documents' rows and the tables kept from them."""
        from citewise.ingest.tables import DocumentTable

        with self.sessions.begin() as s:
            for i in range(0, len(doc_ids), 500):
                s.execute(delete(DocumentState).where(DocumentState.doc_id.in_(doc_ids[i : i + 500])))
                s.execute(delete(DocumentTable).where(DocumentTable.doc_id.in_(doc_ids[i : i + 500])))


class EmbeddingCache:
    """Vectors by hash of (model id, embedded text): unchanged text is never embedded twice."""

    def __init__(self, sessions: sessionmaker, dim: int) -> None:
        self.sessions = sessions
        self.dim = dim

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self.sessions() as s:
            for i in range(0, len(keys), 500):
                batch = keys[i : i + 500]
                for key, blob in s.execute(
                    select(EmbeddingCacheEntry.key, EmbeddingCacheEntry.vector).where(
                        EmbeddingCacheEntry.key.in_(batch)
                    )
                ):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] == self.dim:
                        found[key] = vec
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        with self.sessions.begin() as s:
            existing = set(s.scalars(select(EmbeddingCacheEntry.key).where(EmbeddingCacheEntry.key.in_(list(items)))))
            s.add_all(
                EmbeddingCacheEntry(key=k, vector=np.asarray(v, dtype=np.float32).tobytes())
                for k, v in items.items()
                if k not in existing
            )
