"""Text that needs no format parsing: connector records (JSONL rows, database fields) and byte decoding."""

from __future__ import annotations

from citewise.errors import CorruptDocumentError
from citewise.ingest.parsing.assemble import assemble, paragraphs
from citewise.models import ParsedDocument

BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_text(content: bytes) -> str:
    for bom, encoding in BOMS:
        if content.startswith(bom):
            return content.decode(encoding)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(content[:200_000]).best()
        if best is not None:
            return content.decode(best.encoding, errors="replace")
    except ImportError:
        pass
    raise CorruptDocumentError("the text encoding could not be detected; save the file as UTF-8")


def parse_record_text(text: str, *, title: str) -> ParsedDocument:
    return assemble(paragraphs(text), title=title)
