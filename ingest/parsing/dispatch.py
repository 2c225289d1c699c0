"""Route a RawDocument to the parser for its format."""

from __future__ import annotations

from pathlib import PurePath

from citewise.errors import DocumentTooLargeError, EmptyDocumentError
from citewise.ingest.parsing.detect import EXTENSIONS, ZIP_FORMATS, detect_format
from citewise.ingest.parsing.legacy import TARGET
from citewise.ingest.parsing.limits import ArchiveLimits, check_archive
from citewise.ingest.parsing.ocr import OcrLimits
from citewise.ingest.parsing.pdf_tables import PdfTableLimits
from citewise.models import ParsedDocument, RawDocument

FORMATS = sorted(set(EXTENSIONS.values()))
LARGE_TEXT_BYTES = 512_000


def parse_document(
    doc: RawDocument,
    *,
    max_bytes: int | None = None,
    archive_limits: ArchiveLimits | None = None,
    ocr: OcrLimits | None = OcrLimits(),  # noqa: B008 - frozen: one shared default is safe
    pdf_tables: PdfTableLimits | None = PdfTableLimits(),  # noqa: B008
) -> ParsedDocument:
    """Parse in this process; untrusted files go through `sandbox.ParserSandbox`, which calls this in a worker."""
    if doc.text is not None:
        from citewise.ingest.parsing.text import parse_record_text

        return parse_record_text(doc.text, title=doc.title)
    size = doc.metadata.get("size_bytes")
    if doc.content is None:
        if max_bytes is not None and size is not None and size > max_bytes:
            raise DocumentTooLargeError(
                f"the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
                "(raise CITEWISE_INGEST__MAX_FILE_MB to ingest it)"
            )
        raise EmptyDocumentError("the connector returned no content for this item")
    if max_bytes is not None and len(doc.content) > max_bytes:
        raise DocumentTooLargeError(
            f"the file is {len(doc.content) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
            "(raise CITEWISE_INGEST__MAX_FILE_MB to ingest it)"
        )
    filename = str(doc.metadata.get("filename") or PurePath(doc.uri).name)
    fmt = detect_format(filename, doc.content)
    content = doc.content
    if fmt in TARGET:  # .doc, .ppt, .xls: LibreOffice makes the modern file, parsed like one
        from citewise.ingest.parsing.legacy import convert_legacy

        content, fmt = convert_legacy(content, fmt)
        filename = f"{PurePath(filename).stem}.{fmt}"
    if fmt in ZIP_FORMATS:
        check_archive(content, fmt, archive_limits or ArchiveLimits())
    if fmt == "pdf":
        from citewise.ingest.parsing.pdf import parse_pdf

        return parse_pdf(content, title=doc.title, ocr=ocr, tables=pdf_tables)
    if fmt == "image":
        from citewise.ingest.parsing.pdf import parse_image

        return parse_image(content, title=doc.title, ocr=ocr)
    if fmt in {"json", "ndjson"}:
        from citewise.ingest.parsing.jsondoc import parse_json

        return parse_json(content, fmt=fmt, title=doc.title)
    if fmt == "text" and len(content) > LARGE_TEXT_BYTES:
        # unstructured classifies every paragraph with spaCy: ~70 s for a 3 MB novel. Plain paragraphs instead.
        from citewise.ingest.parsing.text import decode_text, parse_record_text

        return parse_record_text(decode_text(content), title=doc.title)
    from citewise.ingest.parsing.structured import parse_structured

    return parse_structured(content, filename=filename, fmt=fmt, title=doc.title)
