"""Tables kept as rows: CSV and every XLSX sheet with its header, replaced when the file changes and removed
with the document."""

from __future__ import annotations

import json

import openpyxl

from citewise.connectors.filesystem import FilesystemConnector
from citewise.ingest.pipeline import Ingestor
from citewise.ingest.tables import DocumentTable


def _tables(ing: Ingestor) -> dict[str, tuple[list, list]]:
    with ing.tables.sessions() as s:
        return {t.name: (json.loads(t.columns), json.loads(t.rows)) for t in s.query(DocumentTable)}


def test_csv_and_xlsx_sheets_become_tables_that_follow_their_documents(settings, encoder, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "stock.csv").write_text("item;count\nbolts;40\nnuts;2\n")  # the delimiter is sniffed
    book = openpyxl.Workbook()
    book.active.title = "Q1"
    for row in (["region", "revenue"], ["north", 120], ["south", 80]):
        book.active.append(row)
    second = book.create_sheet("Q2")
    for row in (["region", "revenue"], ["north", 150]):
        second.append(row)
    book.save(folder / "revenue.xlsx")
    (folder / "notes.md").write_text("# Notes\n\nNo table here.\n")

    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=folder))
    assert _tables(ing) == {
        "stock": (["item", "count"], [["bolts", "40"], ["nuts", "2"]]),
        "Q1": (["region", "revenue"], [["north", "120"], ["south", "80"]]),
        "Q2": (["region", "revenue"], [["north", "150"]]),
    }
    (folder / "stock.csv").write_text("item;count\nbolts;41\n")
    (folder / "revenue.xlsx").unlink()
    ing.sync(FilesystemConnector(path=folder))
    assert _tables(ing) == {"stock": (["item", "count"], [["bolts", "41"]])}
    ing.close()
