"""Pictures inside Office files are OCR'd: a scan pasted into a .docx, a slide's screenshot (with its slide
number), a sheet's picture, an ODT's; icons are skipped, linked pictures never fetched, the budget and the
switch respected. Files are generated with python-docx, python-pptx, openpyxl and LibreOffice."""

from __future__ import annotations

import io
import subprocess
import zipfile

import pytest
from PIL import Image, ImageDraw, ImageFont

from citewise.errors import EmptyDocumentError
from citewise.ingest.parsing.dispatch import parse_document
from citewise.ingest.parsing.legacy import soffice_path
from citewise.ingest.parsing.ocr import OcrLimits
from citewise.ingest.parsing.pictures import _relationships
from citewise.models import RawDocument

pytestmark = pytest.mark.integration
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _png(*lines: str, size: tuple[int, int] = (1400, 400)) -> bytes:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * 70), line, fill=0, font=ImageFont.truetype(FONT, 44))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _raw(name: str, content: bytes) -> RawDocument:
    return RawDocument(source_id="t", key=name, uri=f"/office/{name}", title=name, content=content,
                       metadata={"filename": name, "size_bytes": len(content)})  # fmt: skip


def _docx(*parts: str | bytes) -> bytes:
    import docx
    from docx.shared import Inches

    document = docx.Document()
    for part in parts:
        if isinstance(part, bytes):
            document.add_picture(io.BytesIO(part), width=Inches(5))
        else:
            document.add_paragraph(part)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _ocr_texts(parsed) -> list[tuple[int | None, str]]:
    return [(e.page, e.text) for e in parsed.elements if e.ocr_confidence is not None]


def test_a_scan_pasted_into_a_docx_is_read_after_the_text():
    content = _docx("The visitor policy follows.", _png("Visitors sign in at the front desk."), "Thank you.")
    parsed = parse_document(_raw("policy.docx", content))
    assert _ocr_texts(parsed) == [(None, "Visitors sign in at the front desk.")]
    assert parsed.text.index("Thank you.") < parsed.text.index("Visitors sign in")  # after the document's text
    assert all(e.ocr_confidence > 80 for e in parsed.elements if e.ocr_confidence is not None)


def test_a_docx_that_is_only_a_scan_is_indexed_not_refused():
    parsed = parse_document(_raw("letter.docx", _docx(_png("Dear Ann, the contract ends in May."))))
    assert "Dear Ann, the contract ends in May." in parsed.text
    with pytest.raises(EmptyDocumentError, match="OCR is off"):
        parse_document(_raw("letter.docx", _docx(_png("Dear Ann."))), ocr=None)
    with pytest.raises(EmptyDocumentError, match="OCR is off"):
        parse_document(_raw("letter.docx", _docx(_png("Dear Ann."))), ocr=OcrLimits(pictures=False))


def test_a_slide_screenshot_keeps_its_slide_number():
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for title, picture in (("Roadmap", None), ("Results", _png("Revenue grew by 12 percent."))):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = title
        if picture:
            slide.shapes.add_picture(io.BytesIO(picture), Inches(1), Inches(2), width=Inches(7))
    deck.slides.add_slide(deck.slide_layouts[5]).shapes.title.text = "Questions"
    buffer = io.BytesIO()
    deck.save(buffer)
    parsed = parse_document(_raw("deck.pptx", buffer.getvalue()))
    assert _ocr_texts(parsed) == [(2, "Revenue grew by 12 percent.")]
    assert parsed.text.index("Results") < parsed.text.index("Revenue grew") < parsed.text.index("Questions")


def test_a_sheet_picture_is_read_and_an_icon_skipped():
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image as SheetImage

    book = Workbook()
    book.active.append(["region", "sales"])
    book.active.append(["north", 10])
    book.active.add_image(SheetImage(io.BytesIO(_png("Chart: sales by region"))), "D2")
    book.active.add_image(SheetImage(io.BytesIO(_png("X", size=(40, 40)))), "D30")  # an icon: not read
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = parse_document(_raw("sales.xlsx", buffer.getvalue()))
    assert [t for _, t in _ocr_texts(parsed)] == ["Chart: sales by region"]
    assert "north" in parsed.text


def test_an_odt_picture_is_read(tmp_path):
    (tmp_path / "memo.docx").write_bytes(_docx("Memo.", _png("Parking closes at nine.")))
    subprocess.run([soffice_path(), f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", "odt", "--outdir", str(tmp_path), str(tmp_path / "memo.docx")],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    parsed = parse_document(_raw("memo.odt", (tmp_path / "memo.odt").read_bytes()))
    assert [t for _, t in _ocr_texts(parsed)] == ["Parking closes at nine."]


def test_the_budget_names_the_pictures_left_unread():
    content = _docx("Two scans.", _png("First scan."), _png("Second scan."))
    parsed = parse_document(_raw("two.docx", content), ocr=OcrLimits(max_pages=1))
    assert "First scan." in parsed.text and "Second scan." not in parsed.text
    assert parsed.text.endswith("[pictures not OCR'd: 2 (over the OCR budget of this file)]")


def test_a_linked_picture_is_never_followed():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("word/_rels/document.xml.rels", (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"'
            ' Target="media/image1.png"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"'
            ' Target="http://example.com/tracker.png" TargetMode="External"/></Relationships>'))  # fmt: skip
    with zipfile.ZipFile(buffer) as zf:
        assert _relationships(zf, set(zf.namelist()), "word/document.xml") == {"rId1": "word/media/image1.png"}


def _replace_member(content: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, data if item.filename == name else src.read(item.filename))
    return out.getvalue()


def test_a_broken_picture_costs_only_that_picture():
    content = _docx("Two scans.", _png("First scan."), _png("Second scan."))
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        first = sorted(n for n in zf.namelist() if n.startswith("word/media/"))[0]
        header = zf.read(first)[:64]  # a valid PNG header: the picture's size reads, its pixels do not
    parsed = parse_document(_raw("two.docx", _replace_member(content, first, header + b"\0" * 200)))
    read = [t for _, t in _ocr_texts(parsed)]
    assert len(read) == 1 and read[0] in ("First scan.", "Second scan.")
    assert "Two scans." in parsed.text


def test_tesseract_failing_keeps_the_documents_text_and_says_why():
    content = _docx("The memo's own text.", _png("Text in a picture."))
    parsed = parse_document(_raw("memo.docx", content), ocr=OcrLimits(languages="xxx"))  # no such language data
    assert "The memo's own text." in parsed.text and "Text in a picture." not in parsed.text
    assert "[pictures not OCR'd: " in parsed.text and "tesseract failed" in parsed.text
