"""Build a ParsedDocument from raw blocks: join texts, compute char offsets and section paths."""

from __future__ import annotations

from dataclasses import dataclass

from citewise.errors import EmptyDocumentError
from citewise.models import Element, ElementType, ParsedDocument

SEPARATOR = "\n\n"


@dataclass(slots=True)
class Block:
    type: ElementType
    text: str
    page: int | None = None
    depth: int | None = None  # heading depth for titles (0 = top level)
    ocr_confidence: float | None = None  # read by OCR: Tesseract's mean word confidence on its page (0-100)


def assemble(blocks: list[Block], *, title: str = "", pages: int | None = None) -> ParsedDocument:
    """Offsets index into `ParsedDocument.text` (element texts joined by a blank line)."""
    elements: list[Element] = []
    headings: list[tuple[int, str]] = []
    pos = 0
    parts: list[str] = []
    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        if block.type == "title":
            depth = block.depth or 0
            while headings and headings[-1][0] >= depth:
                headings.pop()
            headings.append((depth, text[:200]))
        if parts:
            pos += len(SEPARATOR)
        elements.append(
            Element(
                type=block.type,
                text=text,
                page=block.page,
                section_path=[h for _, h in headings],
                char_start=pos,
                char_end=pos + len(text),
                ocr_confidence=block.ocr_confidence,
            )
        )
        parts.append(text)
        pos += len(text)
    if not elements:
        raise EmptyDocumentError("no text found in the document (it is empty or whitespace only)")
    return ParsedDocument(text=SEPARATOR.join(parts), elements=elements, title=title, pages=pages)


def paragraphs(text: str, *, page: int | None = None) -> list[Block]:
    """Split plain text into paragraph blocks on blank lines (no title detection: that is unstructured's job)."""
    blocks: list[Block] = []
    for para in text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n"):
        para = para.strip()
        if para:
            blocks.append(Block("text", para, page))
    return blocks
