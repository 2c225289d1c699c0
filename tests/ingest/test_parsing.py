"""Every supported format parses offline into elements with consistent offsets; bad files fail alone, clearly."""

from __future__ import annotations

import io

import pytest

from citewise.errors import DocumentError
from citewise.ingest.parsing import parse_document
from citewise.models import RawDocument
from tests.conftest import DOCS

# (file, words that must appear in the parsed text)
GOOD = [
    ("fake-text.txt", ["Doylestown"]),
    ("README.md", ["sample docs directory"]),
    ("README.rst", ["sample docs directory"]),
    ("README.org", ["sample docs directory"]),
    ("fake-html.html", ["My Second Heading"]),
    ("factbook.xml", ["Washington"]),
    ("simple.json", []),
    ("simple.ndjson", []),
    ("stanley-cups.csv", ["Stanley Cups", "Blues"]),
    ("stanley-cups.tsv", ["Stanley Cups"]),
    ("stanley-cups-utf-16.csv", ["Stanley Cups"]),
    ("single-column.csv", []),
    ("fake-email.eml", ["Important points"]),
    ("fake-email.msg", ["Important points"]),
    ("simple.docx", ["Parrots"]),
    ("fake-power-point.pptx", ["bullet slide layout"]),
    ("stanley-cups.xlsx", ["Blues"]),
    ("simple.odt", ["Parrots"]),
    ("fake-doc.rtf", ["My first paragraph"]),
    ("eng_spa_mult.epub", []),
    ("fake-memo.pdf", []),
    ("fake.doc", ["Lorem ipsum"]),  # legacy formats: converted by LibreOffice, parsed as the modern format
    ("tests-example.xls", ["What is 2+2?"]),
    ("fake-power-point.ppt", ["bullet slide layout"]),
]


def _raw(path, content: bytes | None = None) -> RawDocument:
    data = path.read_bytes() if content is None else content
    return RawDocument(
        source_id="test",
        key=path.name,
        uri=str(path),
        title=path.stem,
        content=data,
        metadata={"filename": path.name, "size_bytes": len(data)},
    )


@pytest.mark.parametrize(("name", "words"), GOOD, ids=[g[0] for g in GOOD])
def test_format_parses_with_consistent_offsets(name, words):
    parsed = parse_document(_raw(DOCS / name))
    assert parsed.elements and parsed.text.strip()
    for element in parsed.elements:
        assert parsed.text[element.char_start : element.char_end] == element.text
    for word in words:
        assert word in parsed.text


def test_pdf_and_pptx_keep_page_numbers():
    pdf = parse_document(_raw(DOCS / "fake-memo.pdf"))
    assert pdf.pages and all(e.page and e.page >= 1 for e in pdf.elements)
    pptx = parse_document(_raw(DOCS / "fake-power-point.pptx"))
    assert {e.page for e in pptx.elements} >= {1}


def test_headings_become_section_paths():
    parsed = parse_document(_raw(DOCS / "fake-html.html"))
    body = [e for e in parsed.elements if e.type != "title"]
    assert any(e.section_path for e in body)


def test_json_is_flattened_to_key_paths(tmp_path):
    f = tmp_path / "r.json"
    f.write_text('[{"name": "Ada", "skills": ["math", "code"], "address": {"city": "London"}}]')
    parsed = parse_document(_raw(f))
    assert "name: Ada" in parsed.text and "skills: math, code" in parsed.text and "address.city: London" in parsed.text


BAD = [
    ("password_protected.xlsx", "encrypted", "password"),
    ("password.pdf", "encrypted", "password"),
    ("fake-encrypted.msg", "encrypted", "encrypted"),
    ("empty.txt", "empty", "empty"),
    ("fake-text-all-whitespace.txt", "empty", "no text"),
]


@pytest.mark.parametrize(("name", "kind", "hint"), BAD, ids=[b[0] for b in BAD])
def test_bad_documents_fail_with_specific_reason(name, kind, hint):
    with pytest.raises(DocumentError) as info:
        parse_document(_raw(DOCS / "bad" / name))
    assert info.value.kind == kind
    assert hint in str(info.value)


@pytest.mark.integration
def test_a_damaged_legacy_file_fails_alone_and_a_mislabelled_one_is_read(tmp_path):
    f = tmp_path / "deck.ppt"
    f.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(DocumentError) as info:
        parse_document(_raw(f))
    assert info.value.kind == "corrupt" and "LibreOffice could not read" in str(info.value)
    g = tmp_path / "old.doc"
    g.write_text("no OLE container at all")
    with pytest.raises(DocumentError, match="no OLE container"):
        parse_document(_raw(g))
    docx_named_doc = tmp_path / "simple.doc"  # a .docx saved under the old name
    docx_named_doc.write_bytes((DOCS / "simple.docx").read_bytes())
    assert "Parrots" in parse_document(_raw(docx_named_doc)).text


def test_legacy_files_keep_sections_sheets_and_tables():
    xls = parse_document(_raw(DOCS / "tests-example.xls"))
    assert xls.tables and xls.pages and "What is 2+2?" in xls.text  # sheets as pages, rows for table_query
    ppt = parse_document(_raw(DOCS / "fake-power-point.ppt"))
    assert ppt.pages and ppt.elements[0].section_path  # slides and their titles, as for .pptx


def test_encrypted_legacy_files_are_named_as_such(tmp_path):
    import olefile  # noqa: F401 - the detector reads the OLE streams

    from citewise.ingest.parsing.detect import _biff_filepass

    bof = (0x0809).to_bytes(2, "little") + (4).to_bytes(2, "little") + b"\0" * 4
    filepass = (0x002F).to_bytes(2, "little") + (2).to_bytes(2, "little") + b"\0\0"
    assert _biff_filepass(bof + filepass) and not _biff_filepass(bof + bof)


def test_scanned_pdf_without_text_layer(tmp_path):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(300, 400)
    buf = io.BytesIO()
    pdf.save(buf)
    f = tmp_path / "scan.pdf"
    f.write_bytes(buf.getvalue())
    with pytest.raises(DocumentError) as info:
        parse_document(_raw(f))
    assert info.value.kind == "no_text_layer" and "OCR" in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("report.pdf", b"just some text, not a pdf", "corrupt"),
        ("notes.docx", b"plain text pretending to be docx", "corrupt"),
        ("photo.png", b"\x89PNG\r\n\x1a\n\0\0\0", "corrupt"),  # images are OCR'd: a broken one says so
        ("blob.dat", b"\0\1\2\3" * 100, "unsupported_format"),
        ("broken.json", b'{"a": ', "corrupt"),
    ],
)
def test_mislabelled_and_unknown_files(tmp_path, name, content, kind):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(DocumentError) as info:
        parse_document(_raw(f))
    assert info.value.kind == kind


def test_unknown_extension_with_text_content_is_read_as_text(tmp_path):
    f = tmp_path / "NOTES"
    f.write_text("Plain notes without an extension.\n\nSecond paragraph.")
    assert "Second paragraph" in parse_document(_raw(f)).text


def test_too_large_is_refused_before_parsing(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("word " * 1000)
    with pytest.raises(DocumentError) as info:
        parse_document(_raw(f), max_bytes=100)
    assert info.value.kind == "too_large" and "MAX_FILE_MB" in str(info.value)


def test_large_plain_text_uses_fast_paragraph_path(tmp_path):
    f = tmp_path / "novel.txt"
    f.write_text("\n\n".join(f"Paragraph {i} of a long book." for i in range(30_000)))
    parsed = parse_document(_raw(f))
    assert len(parsed.elements) == 30_000
