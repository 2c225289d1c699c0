"""Tables that parsing kept as rows (CSV, TSV, XLSX sheets), stored per document in the metadata DB for the
agent's `table_query` tool. Written with the document's version before it turns indexed, removed with it."""

from __future__ import annotations

import json

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.db import Base
from citewise.models import TableData

MAX_ROWS = 100_000  # per table; a longer one is kept truncated and says so


class DocumentTable(Base):
    __tablename__ = "doc_tables"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the table's place in its document
    name: Mapped[str] = mapped_column(Text)
    columns: Mapped[str] = mapped_column(Text)  # JSON list
    rows: Mapped[str] = mapped_column(Text)  # JSON list of lists
    row_count: Mapped[int] = mapped_column(Integer)  # in the source, before any truncation


class TableStore:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def replace(self, doc_id: str, tenant: str, tables: list[TableData]) -> None:
        with self.sessions.begin() as s:
            s.execute(delete(DocumentTable).where(DocumentTable.doc_id == doc_id))
            for i, t in enumerate(tables):
                s.add(
                    DocumentTable(
                        doc_id=doc_id,
                        tenant=tenant,
                        position=i,
                        name=t.name,
                        columns=json.dumps(t.columns),
                        rows=json.dumps(t.rows[:MAX_ROWS]),
                        row_count=len(t.rows),
                    )
                )

    def remove(self, doc_ids: list[str]) -> None:
        with self.sessions.begin() as s:
            for i in range(0, len(doc_ids), 500):
                s.execute(delete(DocumentTable).where(DocumentTable.doc_id.in_(doc_ids[i : i + 500])))

    def doc_ids(self, tenant: str) -> set[str]:
        with self.sessions() as s:
            return set(s.scalars(select(DocumentTable.doc_id).where(DocumentTable.tenant == tenant)))

    def load(self, tenant: str, doc_ids: set[str]) -> list[DocumentTable]:
        """The tables of these documents (the caller has checked they may be read), in document order."""
        if not doc_ids:
            return []
        with self.sessions() as s:
            q = select(DocumentTable).where(DocumentTable.tenant == tenant, DocumentTable.doc_id.in_(sorted(doc_ids)))
            return list(s.scalars(q.order_by(DocumentTable.doc_id, DocumentTable.position)))
