"""Route a RawDocument to the parser for its format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    size = len(doc.content) if doc.content is not None else doc.metadata.get("size_bytes")
    if max_bytes is not None and size is not None and size > max_bytes:
        raise DocumentTooLargeError(
            f"the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
            "(raise CITEWISE_INGEST__MAX_FILE_MB to ingest it)"
        )
    if doc.content is None:
        raise EmptyDocumentError("the connector returned no content for this item")
    filename = str(doc.metadata.get("filename") or PurePath(doc.uri).name)
    fmt = detect_format(filename, doc.content)
    content = doc.content
    if fmt in TARGET:  # .doc, .ppt, .xls: LibreOffice makes the modern file, parsed like one
        from citewise.ingest.parsing.legacy import convert_legacy

        content, fmt = convert_legacy(content, fmt)
        filename = f"{PurePath(filename).stem}.{fmt}"
    if fmt in ZIP_FORMATS:
        check_archive(content, fmt, archive_limits or ArchiveLimits())
    job = ParseJob(content, filename=filename, fmt=fmt, title=doc.title, ocr=ocr, pdf_tables=pdf_tables)
    return PARSERS.get(fmt, _structured)(job)


@dataclass(frozen=True, slots=True)
class ParseJob:
    """A file's bytes once its format is known (legacy formats already converted), and the limits."""

    content: bytes
    filename: str
    fmt: str
    title: str
    ocr: OcrLimits | None
    pdf_tables: PdfTableLimits | None


def _pdf(job: ParseJob) -> ParsedDocument:
    from citewise.ingest.parsing.pdf import parse_pdf

    return parse_pdf(job.content, title=job.title, ocr=job.ocr, tables=job.pdf_tables)


def _image(job: ParseJob) -> ParsedDocument:
    from citewise.ingest.parsing.pdf import parse_image

    return parse_image(job.content, title=job.title, ocr=job.ocr)


def _json(job: ParseJob) -> ParsedDocument:
    from citewise.ingest.parsing.jsondoc import parse_json

    return parse_json(job.content, fmt=job.fmt, title=job.title)


def _text(job: ParseJob) -> ParsedDocument:
    if len(job.content) <= LARGE_TEXT_BYTES:
        return _structured(job)
    # unstructured classifies every paragraph with spaCy: ~70 s for a 3 MB novel. Plain paragraphs instead.
    from citewise.ingest.parsing.text import decode_text, parse_record_text

    return parse_record_text(decode_text(job.content), title=job.title)


def _structured(job: ParseJob) -> ParsedDocument:
    """unstructured's partitioners: Office, HTML, e-mail, Markdown and the other text formats."""
    from citewise.ingest.parsing.structured import parse_structured

    return parse_structured(job.content, filename=job.filename, fmt=job.fmt, title=job.title, ocr=job.ocr)


PARSERS: dict[str, Callable[[ParseJob], ParsedDocument]] = {  # any other format: _structured
    "pdf": _pdf,
    "image": _image,
    "json": _json,
    "ndjson": _json,
    "text": _text,
}
