"""Ruled PDF tables: pdfplumber finds the grid on pages pdfium says carry one, the cells are read from
pdfium's text layer, and the table is Markdown in the page's text (each word once) and rows for
table_query. Frames that are not tables, damaged files and the page budget leave the text as it was."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from citewise.ingest.chunking import Chunker
from citewise.ingest.parsing.dispatch import parse_document
from citewise.ingest.parsing.pdf_tables import PdfTableLimits
from citewise.models import RawDocument
from citewise.settings import ChunkingSettings
from tests.ingest.pdf_writer import PdfPage, pdf_bytes

XS = [72.0, 200.0, 330.0, 460.0]


def _raw(name: str, content: bytes) -> RawDocument:
    return RawDocument(source_id="t", key=name, uri=f"/t/{name}", title=name.rsplit(".", 1)[0], content=content,
                       metadata={"filename": name, "size_bytes": len(content)})  # fmt: skip


def _rows(n: int) -> list[list[str]]:
    return [["Item", "Limit", "Receipt"]] + [
        [f"Expense {i}", f"{10 * i} EUR", "yes" if i % 2 else "no"] for i in range(n)
    ]


def _policy_page(rows: list[list[str]]) -> PdfPage:
    ys = [700.0 - 16 * r for r in range(len(rows) + 1)]
    page = PdfPage().text(72, 740, "Travel policy", 14).text(72, 715, "Claims are paid monthly.")
    page.grid(XS, ys, rows, size=8).text(480, 690, "Margin note: ask first.")
    return page.text(72, ys[-1] - 30, "Ask finance for exceptions.")


def _words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text))


def test_a_ruled_table_is_markdown_between_its_page_text_and_recorded_as_rows():
    parsed = parse_document(_raw("policy.pdf", pdf_bytes([_policy_page(_rows(3))])))
    tables = [e for e in parsed.elements if e.type == "table"]
    assert len(tables) == 1 and tables[0].page == 1
    assert tables[0].text == (
        "| Item | Limit | Receipt |\n| --- | --- | --- |\n"
        "| Expense 0 | 0 EUR | no |\n| Expense 1 | 10 EUR | yes |\n| Expense 2 | 20 EUR | no |"
    )
    order = [e.text for e in parsed.elements]
    assert order.index(tables[0].text) == 1  # after the text above it, before the note beside it and the rest
    assert "Claims are paid monthly." in order[0] and "Margin note: ask first." in order[2]
    assert "Ask finance for exceptions." in order[-1]
    assert parsed.tables[0].name == "policy p1.1" and parsed.tables[0].columns == ["Item", "Limit", "Receipt"]
    assert parsed.tables[0].rows[1] == ["Expense 1", "10 EUR", "yes"]
    plain = parse_document(_raw("policy.pdf", pdf_bytes([_policy_page(_rows(3))])), pdf_tables=None)
    assert plain.tables == [] and _words(plain.text) == _words(parsed.text)  # every word once, none lost


def test_a_pdf_table_that_spans_chunks_repeats_its_header(tokenizer):
    parsed = parse_document(_raw("long.pdf", pdf_bytes([_policy_page(_rows(38))])))
    chunks = Chunker(tokenizer, ChunkingSettings(max_tokens=96, overlap_tokens=0)).run(parsed, doc_id="d")
    table_chunks = [c for c in chunks if "| Expense" in c.text]
    assert len(table_chunks) > 3
    assert all(c.text.startswith("| Item | Limit | Receipt |\n| --- | --- | --- |\n") for c in table_chunks)
    seen = [line for c in table_chunks for line in c.text.split("\n") if line.startswith("| Expense")]
    assert seen == [f"| Expense {i} | {10 * i} EUR | {'yes' if i % 2 else 'no'} |" for i in range(38)]
    assert len(parsed.tables[0].rows) == 38


def test_a_frame_whose_rules_cut_through_words_stays_text():
    page = PdfPage().text(72, 740, "Frames around prose are layout, not tables.")
    page.grid(
        [72.0, 130.0, 400.0], [700.0, 680.0, 660.0], [["Mitarbeiterinnen erhalten", "x"], ["Urlaubsanspruch", "y"]]
    )
    parsed = parse_document(_raw("frame.pdf", pdf_bytes([page])))
    assert parsed.tables == [] and all(e.type != "table" for e in parsed.elements)
    assert "Mitarbeiterinnen" in parsed.text and "Urlaubsanspruch" in parsed.text  # whole words, as pdfium reads them


def test_the_page_budget_and_the_switch_bound_the_table_search():
    pdf = pdf_bytes([_policy_page(_rows(2)), _policy_page(_rows(2))])
    assert len(parse_document(_raw("two.pdf", pdf)).tables) == 2
    capped = parse_document(_raw("two.pdf", pdf), pdf_tables=PdfTableLimits(max_pages=1))
    assert len(capped.tables) == 1
    assert [e.page for e in capped.elements if e.type == "table"] == [1]
    assert capped.text.count("Expense 1") == 2  # the second page's table is still there, as text


def test_a_file_pdfminer_cannot_read_keeps_pdfiums_text(monkeypatch):
    import pdfplumber

    def broken(*_a, **_k):  # pdfminer is stricter than pdfium: a real case is pdf-bad-color-space.pdf
        raise ValueError("PDF stream object 46 does not have attribute 'N'")

    monkeypatch.setattr(pdfplumber, "open", broken)
    parsed = parse_document(_raw("policy.pdf", pdf_bytes([_policy_page(_rows(3))])))
    assert parsed.tables == [] and "Expense 2" in parsed.text and "Ask finance" in parsed.text


def test_a_page_without_rules_is_never_opened_by_pdfplumber(monkeypatch):
    import pdfplumber

    monkeypatch.setattr(pdfplumber, "open", lambda *_a, **_k: pytest.fail("pdfplumber opened a page with no grid"))
    page = PdfPage().text(72, 740, "Only prose here.").line(72, 730, 500, 730)  # an underline is not a grid
    assert parse_document(_raw("prose.pdf", pdf_bytes([page]))).text == "Only prose here."
