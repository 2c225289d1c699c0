"""Text in the pictures of Office files: a scanned letter pasted into a .docx, a slide that is one
screenshot, a chart exported as an image. unstructured skips pictures; here each one is OCR'd under the
file's OCR budget, and its text becomes a block of its own, after its slide's text (pptx: the slide's page
number) or after the document's text, with Tesseract's confidence.

Pictures are found the way the file refers to them (OOXML relationships, ODF `xlink:href`), in reading
order; one used twice is read once. Linked (external) pictures are never fetched. Icons and bullets are
skipped by size, vector formats (EMF, WMF, SVG) because Tesseract cannot read them.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from citewise.errors import DocumentError
from citewise.ingest.parsing.assemble import Block, paragraphs
from citewise.ingest.parsing.ocr import OcrBudget, OcrLimits, image_pages

READABLE = (".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".gif", ".webp")
MIN_PIXELS = 5_000  # about 70 x 70: smaller pictures are icons and bullets
MAX_PIXELS = 40_000_000  # a bigger picture is not a page of text; decoding it would cost the file's memory

_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\s([^>]*?)/?>")
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')
_REFERENCE = re.compile(rb'\br:(?:embed|id|link|pict)="([^"]+)"')
_ODF_PICTURE = re.compile(rb'xlink:href="(Pictures/[^"]+)"')


@dataclass(frozen=True, slots=True)
class Picture:
    path: str  # inside the file
    page: int | None  # the slide it is on (pptx); None elsewhere


def picture_blocks(content: bytes, fmt: str, limits: OcrLimits) -> tuple[list[Block], str]:
    """The text of the file's pictures (a block per paragraph) and a note naming the pictures OCR did not read
    ("" when it read them all). OCR failing costs the pictures, never the document's own text."""
    finder = FINDERS[fmt]
    budget = OcrBudget(limits, unit="pictures")
    blocks: list[Block] = []
    failed: str | None = None
    try:
        with zipfile.ZipFile(BytesIO(content)) as zf:
            names = set(zf.namelist())
            found = [p for p in _unique(finder(zf, names)) if p.path in names and p.path.lower().endswith(READABLE)]
            for number, picture in enumerate(found, 1):
                data = zf.read(picture.path)
                if not _may_hold_text(data):
                    continue
                try:  # decoded only within the budget (`read` renders it then)
                    page = budget.read(number, lambda data=data: image_pages(data, frames=1)[0])
                except DocumentError as exc:
                    if exc.kind != "corrupt":
                        raise
                    continue  # a broken picture costs that picture, not the document
                if page is not None and page.text:
                    blocks += [Block("text", b.text, picture.page, ocr_confidence=page.confidence)
                               for b in paragraphs(page.text)]  # fmt: skip
    except DocumentError as exc:  # Tesseract missing or failing: the pictures stay unread, said so
        failed = f"[pictures not OCR'd: {exc}]"
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError):  # the partitioner read the text already
        return blocks, ""
    return blocks, failed or budget.note()


def place(blocks: list[Block], pictures: list[Block]) -> list[Block]:
    """Each picture block after the last block of its page (the end when it has none)."""
    out = list(blocks)
    for block in pictures:
        after = block.page is not None
        at = next((i for i, b in enumerate(out) if after and b.page is not None and b.page > block.page), len(out))
        out.insert(at, block)
    return out


def _may_hold_text(data: bytes) -> bool:
    """From the header alone: neither an icon nor a picture too big to decode; unreadable ones are skipped."""
    from PIL import Image

    try:
        with Image.open(BytesIO(data)) as image:
            return MIN_PIXELS <= image.width * image.height <= MAX_PIXELS
    except Exception:  # not an image PIL knows: nothing to read
        return False


def _unique(pictures: Iterator[Picture]) -> Iterator[Picture]:
    seen: set[str] = set()
    for picture in pictures:
        if picture.path not in seen:
            seen.add(picture.path)
            yield picture


def _relationships(zf: zipfile.ZipFile, names: set[str], part: str) -> dict[str, str]:
    """A part's internal relationships: id -> the target's path in the file."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels not in names:
        return {}
    found = {}
    for match in _RELATIONSHIP.finditer(zf.read(rels)):
        attrs = {k.decode(): v.decode("utf-8", "replace") for k, v in _ATTRIBUTE.findall(match.group(1))}
        if attrs.get("TargetMode") == "External" or "Id" not in attrs or "Target" not in attrs:
            continue  # a linked picture stays where it is: nothing is fetched
        target = attrs["Target"]
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        found[attrs["Id"]] = path
    return found


def _referenced(zf: zipfile.ZipFile, names: set[str], part: str) -> list[str]:
    """The paths a part refers to, in the order its XML names them."""
    if part not in names:
        return []
    rels = _relationships(zf, names, part)
    return [rels[r] for r in (m.decode("utf-8", "replace") for m in _REFERENCE.findall(zf.read(part))) if r in rels]


def _docx(zf: zipfile.ZipFile, names: set[str]) -> Iterator[Picture]:
    for path in _referenced(zf, names, "word/document.xml"):
        yield Picture(path, None)


def _pptx(zf: zipfile.ZipFile, names: set[str]) -> Iterator[Picture]:
    slides = [s for s in _referenced(zf, names, "ppt/presentation.xml") if s.startswith("ppt/slides/")]
    for number, slide in enumerate(slides, 1):  # presentation order, as unstructured numbers the slides
        for path in _referenced(zf, names, slide):
            yield Picture(path, number)


def _xlsx(zf: zipfile.ZipFile, names: set[str]) -> Iterator[Picture]:
    drawings = [n for n in names if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n)]
    for drawing in sorted(drawings, key=lambda n: int(re.sub(r"\D", "", n))):
        for path in _referenced(zf, names, drawing):
            yield Picture(path, None)


def _odf(zf: zipfile.ZipFile, names: set[str]) -> Iterator[Picture]:
    if "content.xml" in names:
        for href in _ODF_PICTURE.findall(zf.read("content.xml")):
            yield Picture(href.decode("utf-8", "replace"), None)


FINDERS = {"docx": _docx, "pptx": _pptx, "xlsx": _xlsx, "odt": _odf}  # the Office formats Citewise parses
