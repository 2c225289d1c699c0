"""OCR with Tesseract: a scanned PDF (generated: pages that are only images) and image files are read page
by page with page numbers and confidence; the page budget stops a long scan with a note; German keeps its
umlauts."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from citewise.errors import DocumentError
from citewise.ingest.parsing.dispatch import parse_document
from citewise.ingest.parsing.ocr import OcrLimits
from citewise.models import RawDocument

pytestmark = pytest.mark.integration
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _page(*lines: str) -> Image.Image:
    image = Image.new("L", (1700, 2200), 255)  # A4-ish at 200 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 44)
    for i, line in enumerate(lines):
        draw.text((150, 200 + i * 90), line, fill=0, font=font)
    return image


def _raw(name: str, content: bytes) -> RawDocument:
    return RawDocument(source_id="t", key=name, uri=f"/scans/{name}", title=name, content=content,
                       metadata={"filename": name, "size_bytes": len(content)})  # fmt: skip


def _scanned_pdf(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", resolution=200, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def test_a_scanned_pdf_is_read_page_by_page_with_confidence():
    pdf = _scanned_pdf([
        _page("Visitor parking", "Visitors park on level two of the north garage."),
        _page("Besucher", "Die Parkplätze für Besucher sind im zweiten Stock."),
    ])  # fmt: skip
    parsed = parse_document(_raw("scan.pdf", pdf))
    assert parsed.pages == 2
    by_page = {e.page: e for e in parsed.elements if "park" in e.text.lower()}
    assert "Visitors park on level two of the north garage." in by_page[1].text
    assert "Die Parkplätze für Besucher sind im zweiten Stock." in by_page[2].text  # umlauts kept
    assert all(e.ocr_confidence and e.ocr_confidence > 80 for e in parsed.elements)


def test_the_page_budget_stops_a_long_scan_with_a_note():
    pdf = _scanned_pdf([_page(f"Page {n} of the long scan.") for n in range(1, 4)])
    parsed = parse_document(_raw("long.pdf", pdf), ocr=OcrLimits(max_pages=1))
    assert "Page 1 of the long scan." in parsed.text and "Page 2" not in parsed.text
    assert "[pages not OCR'd: 2, 3 (over the OCR budget of this file)]" in parsed.text


def test_images_are_ocrd_and_a_multi_page_tiff_keeps_its_pages():
    png = io.BytesIO()
    _page("The server room door code changes every month.").save(png, format="PNG")
    parsed = parse_document(_raw("door.png", png.getvalue()))
    assert "The server room door code changes every month." in parsed.text and parsed.elements[0].page == 1
    tiff = io.BytesIO()
    _page("First page of the fax.").save(tiff, format="TIFF", save_all=True, append_images=[_page("Second page.")])
    pages = {e.page: e.text for e in parse_document(_raw("fax.tiff", tiff.getvalue())).elements}
    assert "First page of the fax." in pages[1] and "Second page." in pages[2]


def test_a_blank_scan_and_ocr_switched_off_say_why():
    blank = _scanned_pdf([Image.new("L", (800, 1000), 255)])
    with pytest.raises(DocumentError, match="OCR found no text"):
        parse_document(_raw("blank.pdf", blank))
    with pytest.raises(DocumentError, match="OCR is off"):
        parse_document(_raw("scan.pdf", _scanned_pdf([_page("Some words.")])), ocr=None)


def test_a_page_that_times_out_costs_that_page_and_is_named():
    import pypdfium2 as pdfium

    from tests.ingest.pdf_writer import PdfPage, pdf_bytes

    merged = pdfium.PdfDocument.new()
    merged.import_pages(pdfium.PdfDocument(pdf_bytes([PdfPage().text(72, 740, "The text layer of page one.")])))
    merged.import_pages(pdfium.PdfDocument(_scanned_pdf([_page("A scanned second page.")])))
    buffer = io.BytesIO()
    merged.save(buffer)
    slow = OcrLimits(page_timeout_s=0.001)  # Tesseract cannot start in a millisecond: a real timeout
    parsed = parse_document(_raw("mixed.pdf", buffer.getvalue()), ocr=slow)
    assert "The text layer of page one." in parsed.text and "scanned second" not in parsed.text
    assert "[pages not OCR'd: 2 (each took over its 0.001 s)]" in parsed.text
    with pytest.raises(DocumentError, match="OCR of every page took over") as info:
        parse_document(_raw("scan.pdf", _scanned_pdf([_page("Only a scan.")])), ocr=slow)
    assert info.value.kind == "timeout"
    png = io.BytesIO()
    _page("A photographed notice.").save(png, format="PNG")
    with pytest.raises(DocumentError, match="OCR of every page took over"):
        parse_document(_raw("notice.png", png.getvalue()), ocr=slow)
