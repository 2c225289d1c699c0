"""Rows of a SQL database (any SQLAlchemy URL: PostgreSQL, MySQL, SQLite, ...) as documents.

A `query` (or a `table`) gives one row per document: `id_column` is its stable id, `title_column` its title,
`text_columns` are joined into its text, `updated_column` (optional) is its version, so an unchanged row
is skipped before parsing; without it the row's own content is its version. `acl_column` (optional) holds
who may read the row (principals separated by spaces or commas). Rows no longer returned are deleted from
the index. The query runs in a read-only transaction and streams (a big table never sits in memory). The
URL holds the credentials and is stored encrypted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import Field, SecretStr, model_validator

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    parse_config,
)
from citewise.errors import ConfigError, TransientError
from citewise.models import RawDocument
from citewise.redact import redact_secrets

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class SqlConfig(ConnectorConfig):
    url: SecretStr = Field(description="a SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/db")
    query: str | None = Field(None, description="SELECT returning one row per document")
    table: str | None = Field(None, description="instead of a query: every row of this table")
    id_column: str = Field("id", description="a stable id per row")
    title_column: str | None = Field(None, description="the document's title")
    text_columns: TextList = Field(description="columns joined into the document's text")
    updated_column: str | None = Field(None, description="a last-modified column: the row's version")
    acl_column: str | None = Field(None, description="principals who may read the row")
    timeout_s: float = Field(30.0, gt=0, description="connect timeout")

    @model_validator(mode="after")
    def _one_source(self) -> SqlConfig:
        if bool(self.query) == bool(self.table):
            raise ValueError("give a query or a table, not both or neither")
        if self.table and not _NAME.match(self.table):
            raise ValueError("table: a plain (optionally schema-qualified) table name")
        return self


class SqlConnector(LoadConnector, ListIdsConnector, VersionedConnector):
    kind = "sql"
    Config = SqlConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: SqlConfig = parse_config(SqlConfig, config, self.kind)
        self._engine = None

    @classmethod
    def local_paths(cls, config: dict[str, Any]) -> list[tuple[str, str]]:
        url = str(config.get("url", ""))
        if url.startswith("sqlite"):  # a database file on this machine
            from sqlalchemy.engine import make_url

            database = make_url(url).database
            return [("url", database or ":memory:")]
        return []

    @property
    def _url(self) -> str:
        return self.cfg.url.get_secret_value()

    @property
    def source_id(self) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self._url)._replace(password=None)  # the id never holds the password
        what = self.cfg.table or hashlib.sha256((self.cfg.query or "").encode()).hexdigest()[:12]
        return f"sql:{url.render_as_string(hide_password=True)}:{what}"

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            args = {"connect_timeout": int(self.cfg.timeout_s)} if self._url.startswith("postgresql") else {}
            self._engine = create_engine(self._url, connect_args=args, pool_pre_ping=True)
        return self._engine

    def _sql(self) -> str:
        return self.cfg.query or f"SELECT * FROM {self.cfg.table}"

    def _rows(self, limit: int | None = None) -> Iterator[dict]:
        from sqlalchemy import text

        sql = self._sql() if limit is None else f"SELECT * FROM ({self._sql()}) AS citewise_q LIMIT {int(limit)}"
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
            result = conn.execution_options(stream_results=True, yield_per=500).execute(text(sql))
            for row in result.mappings():
                yield dict(row)
            conn.rollback()

    def validate(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            rows = list(self._rows(limit=1))
        except SQLAlchemyError as exc:
            raise ConfigError(f"sql: {_reason(exc)}") from None
        finally:
            self.close()
        if rows:
            wanted = [self.cfg.id_column, *self.cfg.text_columns]
            wanted += [c for c in (self.cfg.title_column, self.cfg.updated_column, self.cfg.acl_column) if c]
            if missing := [c for c in wanted if c not in rows[0]]:
                raise ConfigError(f"sql: the query returns no column {', '.join(missing)}; it has {', '.join(rows[0])}")

    def _guarded_rows(self, operational: type[Exception]) -> Iterator[dict]:
        """Rows; a server that cannot be reached is a transient error (the job retries), others say why."""
        try:
            yield from self._rows()
        except operational as exc:
            reason = _reason(exc)
            raise (TransientError if reason.startswith("cannot reach") else ConfigError)(f"sql: {reason}") from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _uri(self, row_id: Any) -> str:
        return f"{self.source_id}#{row_id}"

    def list_ids(self) -> Iterator[str]:
        for row in self._rows():
            yield str(row[self.cfg.id_column])

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        from sqlalchemy.exc import OperationalError

        cfg = self.cfg
        try:
            for row in self._guarded_rows(OperationalError):
                key = str(row.get(cfg.id_column))
                uri = self._uri(key)
                acl = self.acl
                if cfg.acl_column and row.get(cfg.acl_column):
                    acl = sorted({p for p in str(row[cfg.acl_column]).replace(",", " ").split() if p})
                basis = (
                    row.get(cfg.updated_column) if cfg.updated_column else json.dumps(row, default=str, sort_keys=True)
                )
                version = hashlib.sha256(f"{basis}|{acl}".encode()).hexdigest()[:24]
                if self.unchanged(uri, version):
                    yield UnchangedItem(key=key, uri=uri)
                    continue
                text = "\n\n".join(str(row[c]) for c in cfg.text_columns if row.get(c) not in (None, ""))
                if not text.strip():
                    yield FailedItem(key=key, uri=uri, error="the row's text columns are empty")
                    continue
                title = str(row.get(cfg.title_column) or key) if cfg.title_column else key
                skip = {*cfg.text_columns, cfg.acl_column}  # the ACL is not content: its change is payload-only
                meta = {k: v for k, v in row.items() if k not in skip and isinstance(v, str | int | float | bool)}
                yield RawDocument(
                    source_id=self.source_id,
                    key=key,
                    uri=uri,
                    title=title,
                    text=text,
                    version=version,
                    acl=acl,
                    metadata=meta,
                )
        finally:
            self.close()


def _reason(exc: Exception) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    lowered = message.lower()
    if "password authentication failed" in lowered or "access denied" in lowered:
        return "wrong user or password"
    if "could not translate host name" in lowered or "connection refused" in lowered or "timeout" in lowered:
        return f"cannot reach the database server: {redact_secrets(message)}"
    return redact_secrets(message)
