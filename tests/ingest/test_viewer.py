"""The PDF viewer's page render: the cited quote is found in the page's own text layer across line breaks
and hyphenation, and what is highlighted is that text."""

from __future__ import annotations

import base64

import pytest

from citewise.errors import NotFoundError
from citewise.ingest.viewer import _find, render_pdf_page
from tests.conftest import FIXTURES

MEMO = FIXTURES / "docs" / "fake-memo.pdf"


def test_a_quote_spanning_a_line_break_is_highlighted_with_its_own_characters():
    quote = "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023."
    view = render_pdf_page(MEMO, 1, quote)
    assert view.highlighted_text == quote and view.pages == 1
    assert len(view.highlights) == 2  # the quote wraps onto a second line in the PDF
    assert all(0 <= b.left < 1 and 0 <= b.top < 1 and b.width > 0 and b.height > 0 for b in view.highlights)
    png = base64.b64decode(view.image.split(",", 1)[1])
    assert png.startswith(b"\x89PNG") and view.width > 500


def test_a_quote_not_on_the_page_highlights_nothing_and_bad_pages_are_errors():
    view = render_pdf_page(MEMO, 1, "Nothing like this is in the memo.")
    assert view.highlights == [] and view.highlighted_text == ""
    with pytest.raises(NotFoundError, match="no page 2"):
        render_pdf_page(MEMO, 2, "")


def test_matching_ignores_whitespace_case_and_joined_hyphenation():
    text = "The recom-\r\nmendation is to\r\nrenew badges yearly."
    start, count = _find(text, "recommendation is to renew")
    assert text[start : start + count] == "recom-\r\nmendation is to\r\nrenew"
    assert _find(text, "") is None and _find(text, "absent words") is None


def test_a_quote_from_a_pdf_table_highlights_its_rows_cell_by_cell(tmp_path):
    from citewise.ingest.parsing.dispatch import parse_document
    from citewise.models import RawDocument
    from tests.ingest.pdf_writer import PdfPage, pdf_bytes

    rows = [["Item", "Limit"], ["Hotel", "150 EUR"], ["Taxi", "40 EUR"]]
    pdf = tmp_path / "limits.pdf"
    pdf.write_bytes(
        pdf_bytes([PdfPage().text(72, 740, "Limits").grid([72.0, 200.0, 330.0], [700.0, 680.0, 660.0, 640.0], rows)])
    )
    raw = RawDocument(
        source_id="t",
        key="l",
        uri=str(pdf),
        title="limits",
        content=pdf.read_bytes(),
        metadata={"filename": "limits.pdf"},
    )
    table = next(e.text for e in parse_document(raw).elements if e.type == "table")  # the Markdown a chunk quotes
    view = render_pdf_page(pdf, 1, table)
    assert view.highlighted_text.split("\n") == [
        "Item Limit",
        "Hotel 150 EUR",
        "Taxi 40 EUR",
    ]  # the header rule skipped
    assert len(view.highlights) >= 3
