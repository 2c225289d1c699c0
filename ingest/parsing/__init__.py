"""Turn a RawDocument into a ParsedDocument (elements with type, page, section path, char offsets)."""

from citewise.ingest.parsing.dispatch import FORMATS, parse_document

__all__ = ["FORMATS", "parse_document"]
