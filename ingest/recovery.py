"""Documents become visible all at once, and a crash never leaves half of one.

Writing a version: its points are upserted with `status="pending"` (every search excludes them), then
flipped to "live" in one payload update, then the older version's points are deleted; the sync state records
the version being written. After a crash, `recover_pending` rolls back what was never flipped (a new
document disappears, an updated one keeps its old version) and completes what was (the old version goes).
Writes are preceded by a free-space check, so a full disk is a clear error naming the data dir, not a
crash (an mmap-ed index segment on a full disk ends the process with SIGBUS).
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from citewise.errors import StorageFullError
from citewise.ingest.state import DocumentState, SyncState
from citewise.retrieval.stores.base import Filter, VectorStore

BYTES_PER_POINT = 16 * 1024  # dense + sparse vectors, payload with text, WAL and segment copies (measured ~9 KB)
FREE_MARGIN = 64 * 2**20


def recover_pending(
    store: VectorStore, state: SyncState, *, source_id: str | None = None, uri_prefix: str | None = None
) -> list[DocumentState]:
    """Settle every document left `pending` (of one source, or under a path); returns those rolled back
    completely (nothing of them remains: their upload files may go)."""
    gone = []
    for row in state.pending(source_id=source_id, uri_prefix=uri_prefix):
        store.delete(Filter(match={"doc_id": row.doc_id, "status": "pending"}))  # never flipped: roll back
        flipped = row.version is not None and store.count(Filter(match={"doc_id": row.doc_id, "version": row.version}))
        if flipped:  # complete: the older version goes, and the next sync confirms this one
            store.delete(Filter(match={"doc_id": row.doc_id}, exclude={"version": row.version}))
            state.set_status(row.doc_id, "indexed")
        elif store.count(Filter(match={"doc_id": row.doc_id})):
            state.set_status(row.doc_id, "indexed", version=None)  # the previous version stays, unconfirmed
        else:
            state.remove([row.doc_id])
            gone.append(row)
    store.flush()
    return gone


@contextmanager
def disk_errors_named(path: Path) -> Iterator[None]:
    """A disk that fills up anyway (another process wrote meanwhile) is a StorageFullError naming the data
    dir, whatever layer noticed it (the OS, the index engine, SQLite)."""
    try:
        yield
    except Exception as exc:
        full = getattr(exc, "errno", None) == errno.ENOSPC or any(
            marker in str(exc).lower() for marker in ("no space left", "disk is full", "disk full")
        )
        if not full:
            raise
        raise StorageFullError(
            f"the disk of the data dir {path} is full; nothing of this batch is visible. Free space there or "
            "point CITEWISE_DATA_DIR at a larger disk, then sync again"
        ) from exc


def ensure_free_space(path: Path, points: int) -> None:
    """Refuse a write the disk cannot hold, before any of it is written."""
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    need = points * BYTES_PER_POINT + FREE_MARGIN
    if free < need:
        raise StorageFullError(
            f"the data dir {path} has {free / 2**20:,.0f} MiB free; writing {points:,} chunks needs about "
            f"{need / 2**20:,.0f} MiB. Free space there or point CITEWISE_DATA_DIR at a larger disk"
        )
