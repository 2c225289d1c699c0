"""`table_query`: read-only SQL over the tables ingestion kept from CSV/TSV/XLSX documents the caller may read.

Per call, only the caller's readable tables (the store's permission filter decides, as for search) are
loaded into a private in-memory SQLite database; an authorizer lets the statement read and nothing else, a
progress handler stops it after `MAX_SECONDS`, and at most `MAX_ROWS` rows come back. Columns whose every
value is a number are typed as numbers, so SUM and comparisons work. The result is a passage the answer can
cite: the query and its rows, under the document it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass

from pydantic import BaseModel, Field

from citewise.api.orchestration import guardrails as guards
from citewise.db import init_db
from citewise.errors import InvalidInputError
from citewise.identity import Identity
from citewise.ingest.tables import DocumentTable, TableStore
from citewise.models import SearchHit
from citewise.retrieval.retriever import Retriever, permission_filter

MAX_ROWS = 50
MAX_SECONDS = 2.0
MAX_CELLS = 2_000_000  # loaded per call, over all of the caller's tables
_NUMBER = re.compile(r"^-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$")
_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


def identifier(name: str, taken: set[str]) -> str:
    """A lower-case SQL name from a header or sheet name, unique among `taken`."""
    base = re.sub(r"\W+", "_", name.casefold()).strip("_") or "t"
    base = f"t_{base}" if base[0].isdigit() else base
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def _typed(values: list[str]) -> tuple[str, list[object]]:
    present = [v for v in values if v != ""]
    if present and all(_NUMBER.match(v) for v in present):
        numbers = [None if v == "" else float(v.replace(",", "")) for v in values]
        if all(n is None or n.is_integer() for n in numbers):
            return "INTEGER", [None if n is None else int(n) for n in numbers]
        return "REAL", numbers
    return "TEXT", [v or None for v in values]


@dataclass
class Loaded:
    table: str
    columns: list[str]
    row: DocumentTable
    title: str
    path: str


class TableArgs(BaseModel):
    sql: str | None = Field(
        None,
        max_length=4000,
        description="one read-only SQLite SELECT over the tables; leave it out to list the tables and columns",
    )


class TableQueryTool:
    name = "table_query"
    description = (
        "Run read-only SQL (SQLite dialect) over the tables in CSV/TSV/XLSX documents the user may read, for "
        "sums, counts, averages and lookups. Call it without sql first to see the table and column names."
    )
    arguments = TableArgs

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.tables = TableStore(init_db(retriever.settings.db_url))

    def run(self, identity: Identity, args: TableArgs):  # noqa: ANN201 - a ToolResult
        from citewise.api.orchestration.tools import ToolResult

        with closing(sqlite3.connect(":memory:")) as con:
            loaded = self._load(con, identity)
            con.commit()  # before the authorizer, which denies transactions
            if not args.sql:
                data = [
                    {
                        "table": t.table,
                        "document": t.title,
                        "doc_id": t.row.doc_id,
                        "columns": t.columns,
                        "rows": t.row.row_count,
                        "sample": json.loads(t.row.rows)[:3],
                    }
                    for t in loaded
                ]
                return ToolResult(data=data, summary=f"{len(data)} tables")
            columns, rows, read = self._query(con, args.sql)
        used = [t for t in loaded if t.table in read]
        text = f"SQL: {args.sql}\n" + _markdown(columns, rows)
        passages = [
            SearchHit(
                doc_id=t.row.doc_id,
                chunk_id="table:" + hashlib.sha256(f"{t.row.doc_id}\x1f{args.sql}".encode()).hexdigest()[:24],
                score=1.0,
                title=t.title,
                path=t.path,
                page=None,
                text=f"Table {t.row.name} of {t.title}\n{text}",
            )
            for t in used
        ]
        data = {"columns": columns, "rows": rows, "tables": [t.table for t in used]}
        return ToolResult(
            data=data, summary=f"{len(rows)} rows from {', '.join(t.table for t in used)}", passages=passages
        )

    def _load(self, con: sqlite3.Connection, identity: Identity) -> list[Loaded]:
        candidates = self.tables.doc_ids(identity.tenant)
        if not candidates:
            return []
        flt = permission_filter(identity)  # the same tenant and ACL conditions as every search
        flt.match = {"doc_id": sorted(candidates), "chunk_index": 0}
        docs = {p.payload.doc_id: p.payload for p in self.retriever.store.scroll(flt, limit=len(candidates))}
        taken: set[str] = set()
        loaded, cells = [], 0
        for row in self.tables.load(identity.tenant, set(docs)):
            header, rows = json.loads(row.columns), json.loads(row.rows)
            cells += len(header) * len(rows)
            if cells > MAX_CELLS:
                raise InvalidInputError(f"the readable tables hold over {MAX_CELLS:,} cells: too many to query at once")
            table = identifier(row.name, taken)
            names: set[str] = set()
            columns = [identifier(h or f"column {i + 1}", names) for i, h in enumerate(header)]
            width = len(columns)
            rows = [(r + [""] * width)[:width] for r in rows]
            typed = [_typed([r[i] for r in rows]) for i in range(width)]
            con.execute(
                f"CREATE TABLE {table} ("
                + ", ".join(f"{c} {t}" for c, (t, _) in zip(columns, typed, strict=True))
                + ")"
            )
            con.executemany(
                f"INSERT INTO {table} VALUES ({', '.join('?' * width)})",
                list(zip(*(values for _, values in typed), strict=True)) if width else [],
            )
            payload = docs[row.doc_id]
            loaded.append(Loaded(table, columns, row, payload.title, payload.path))
        return loaded

    def _query(self, con: sqlite3.Connection, sql: str) -> tuple[list[str], list[list], set[str]]:
        read: set[str] = set()

        def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
            if action not in _ALLOWED:
                return sqlite3.SQLITE_DENY
            if action == sqlite3.SQLITE_READ and arg1:
                read.add(arg1)
            return sqlite3.SQLITE_OK

        stop = time.monotonic() + MAX_SECONDS
        con.set_authorizer(authorize)
        con.set_progress_handler(lambda: int(time.monotonic() > stop), 10_000)
        try:
            cursor = con.execute(sql)
            rows = [list(r) for r in cursor.fetchmany(MAX_ROWS)]
        except (sqlite3.DatabaseError, sqlite3.Warning) as exc:
            message = "the query took too long" if "interrupted" in str(exc) else str(exc)
            raise InvalidInputError(f"SQL error: {message}") from exc
        columns = [d[0] for d in cursor.description or []]
        return columns, [[guards.neutralise_source(v)[0] if isinstance(v, str) else v for v in r] for r in rows], read


def _markdown(columns: list[str], rows: list[list]) -> str:
    if not columns:
        return "(no rows)"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows[:20]]
    return "\n".join(lines)
