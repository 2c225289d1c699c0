"""The metadata database (SQLite by default, PostgreSQL by URL): one SQLAlchemy Base for every table."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """A timezone-aware timestamp on every backend: SQLite stores no zone, so values come back tagged UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def timestamp(*, nullable: bool = False, updated: bool = False) -> Any:
    """A UTC timestamp column; `updated` also refreshes it on every update. Nullable ones have no default."""
    if nullable:
        return mapped_column(UtcDateTime(), nullable=True)
    return mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow if updated else None)


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # durable across kill -9, readers never block the writer
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision (from empty, or from a pre-migration database)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    engine = get_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "documents" in tables and "alembic_version" not in tables:
            command.stamp(cfg, "0001")  # created by create_all before migrations existed: same schema
        command.upgrade(cfg, "head")


@lru_cache(maxsize=16)
def init_db(url: str) -> sessionmaker:
    """Migrate the schema to head (once per process and URL) and return a session factory.

    Table modules (e.g. ingest.state) import this one, never the reverse: the kernel imports nothing below it.
    """
    with FileLock(_lock_path(url)):
        migrate(url)
    return sessionmaker(get_engine(url), expire_on_commit=False)


def _lock_path(url: str) -> str:
    """Serialises migrations between processes on one machine (several workers starting together)."""
    import hashlib
    import tempfile

    return str(Path(tempfile.gettempdir()) / f"citewise-migrate-{hashlib.sha256(url.encode()).hexdigest()[:12]}.lock")
