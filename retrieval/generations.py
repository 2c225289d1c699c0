"""Which physical collection, built by which dense encoder, a logical collection answers from.

Vectors of two encoders are never mixed: a collection is written and searched only with the encoder that
built it (its generation). Changing the encoder builds the next generation beside the live one
(`citewise.ingest.reindex`), then one row update swaps them; a process notices the swap on its next search.
A collection from before generations (no row) was built by `LEGACY_ENCODER`, the default of that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.db import Base, timestamp

LEGACY_ENCODER = "openvino"  # all-MiniLM-L6-v2: every data dir before generations was built with it


class GenerationRow(Base):
    __tablename__ = "index_generations"

    collection: Mapped[str] = mapped_column(String(200), primary_key=True)
    physical: Mapped[str] = mapped_column(String(300))
    encoder: Mapped[str] = mapped_column(String(64))
    target_physical: Mapped[str | None] = mapped_column(String(300), nullable=True)
    target_encoder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="live")  # live | reindexing | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = timestamp(updated=True)


@dataclass(frozen=True, slots=True)
class Generation:
    collection: str
    physical: str
    encoder: str
    target_physical: str | None = None
    target_encoder: str | None = None
    status: str = "live"
    done: int = 0
    total: int = 0
    error: str | None = None

    @property
    def reindexing(self) -> bool:
        return self.status == "reindexing" and self.target_physical is not None


def _of(row: GenerationRow) -> Generation:
    return Generation(
        row.collection, row.physical, row.encoder, row.target_physical, row.target_encoder, row.status,
        row.done, row.total, row.error,
    )  # fmt: skip


def physical_name(collection: str, encoder: str, n: int) -> str:
    return f"{collection}--{encoder}-{n}"


class Generations:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def get(self, collection: str) -> Generation | None:
        with self.sessions() as s:
            row = s.get(GenerationRow, collection)
            return _of(row) if row is not None else None

    def live(self, collection: str, *, new_encoder: str, exists: bool, built_by: str = LEGACY_ENCODER) -> Generation:
        """The live generation, recorded on first sight: an existing index without a row is one from before
        generations (under the logical name, built by `built_by`); a new one is built by `new_encoder`."""
        with self.sessions.begin() as s:
            row = s.get(GenerationRow, collection)
            if row is None:
                row = GenerationRow(
                    collection=collection, physical=collection, encoder=built_by if exists else new_encoder,
                    status="live", done=0, total=0,
                )  # fmt: skip
                s.add(row)
                s.flush()
            return _of(row)

    def begin(self, collection: str, encoder: str, total: int) -> Generation:
        """Start (or resume, when the same target is already being built) the next generation."""
        with self.sessions.begin() as s:
            row = s.get(GenerationRow, collection)
            assert row is not None, "live() first"
            if not (row.status in ("reindexing", "failed") and row.target_encoder == encoder):
                row.target_encoder = encoder
                row.target_physical = physical_name(collection, encoder, _serial(row))
                row.done = 0
            row.status, row.total, row.error = "reindexing", total, None
            s.flush()
            return _of(row)

    def progress(self, collection: str, done: int) -> None:
        with self.sessions.begin() as s:
            row = s.get(GenerationRow, collection)
            if row is not None:
                row.done = done

    def fail(self, collection: str, error: str) -> None:
        with self.sessions.begin() as s:
            row = s.get(GenerationRow, collection)
            if row is not None:
                row.status, row.error = "failed", error

    def swap(self, collection: str) -> Generation:
        """The built generation becomes the live one, in one row update; returns the retired one."""
        with self.sessions.begin() as s:
            row = s.get(GenerationRow, collection)
            assert row is not None and row.target_physical and row.target_encoder
            old = _of(row)
            row.physical, row.encoder = row.target_physical, row.target_encoder
            row.target_physical = row.target_encoder = None
            row.status = "live"
            return old


def _serial(row: GenerationRow) -> int:
    """1 + the number in the live physical name (`name--encoder-N`), so every generation gets a new folder."""
    tail = row.physical.rsplit("-", 1)[-1]
    return int(tail) + 1 if "--" in row.physical and tail.isdigit() else 1
