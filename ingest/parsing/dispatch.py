"""Route a RawDocument to the parser for its format."""

from __future__ import annotations

from pathlib import PurePath

from citewise.errors import DocumentTooLargeError, EmptyDocumentError
from citewise.ingest.parsing.detect import EXTENSIONS, ZIP_FORMATS, detect_format
from citewise.ingest.parsing.limits import ArchiveLimits, check_archive
from citewise.models import ParsedDocument, RawDocument

FORMATS = sorted(set(EXTENSIONS.values()))
LARGE_TEXT_BYTES = 512_000


def parse_document(
    doc: RawDocument, *, max_bytes: int | None = None, archive_limits: ArchiveLimits | None = None
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
    if fmt in ZIP_FORMATS:
        check_archive(doc.content, fmt, archive_limits or ArchiveLimits())
    if fmt == "pdf":
        from citewise.ingest.parsing.pdf import parse_pdf

        return parse_pdf(doc.content, title=doc.title)
    if fmt in {"json", "ndjson"}:
        from citewise.ingest.parsing.jsondoc import parse_json

        return parse_json(doc.content, fmt=fmt, title=doc.title)
    if fmt == "text" and len(doc.content) > LARGE_TEXT_BYTES:
        # unstructured classifies every paragraph with spaCy: ~70 s for a 3 MB novel. Plain paragraphs instead.
        from citewise.ingest.parsing.text import decode_text, parse_record_text

        return parse_record_text(decode_text(doc.content), title=doc.title)
    from citewise.ingest.parsing.structured import parse_structured

    return parse_structured(doc.content, filename=filename, fmt=fmt, title=doc.title)
