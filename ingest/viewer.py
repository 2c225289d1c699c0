"""A document's page as the viewer shows it: a PDF page rendered (pypdfium2) with a cited quote's
characters highlighted, found in the page's own text layer, so what is marked is what the PDF says."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from pydantic import BaseModel

from citewise.errors import InvalidInputError, NotFoundError

SCALE = 1.5  # 108 dpi: legible on a laptop, small enough to send as one PNG


class Box(BaseModel):
    """A highlighted rectangle, as fractions of the page's width and height (top-left origin)."""

    left: float
    top: float
    width: float
    height: float


class PageView(BaseModel):
    page: int
    pages: int
    image: str  # data:image/png;base64,...
    width: int
    height: int
    highlights: list[Box]
    highlighted_text: str  # the text layer under the highlights ("" when the quote was not found)


def _squeeze(text: str) -> tuple[str, list[int]]:
    """Lower-cased text without whitespace or soft hyphens, and each kept char's index in the original:
    the parser joins wrapped lines and words split by a hyphen, so quotes are matched ignoring both."""
    out, where = [], []
    for i, ch in enumerate(text):
        if ch.isspace() or ch in "\u00ad\ufffe\x02":
            continue
        out.append(ch.lower())
        where.append(i)
    return "".join(out), where


def _find(page_text: str, quote: str) -> tuple[int, int] | None:
    """(first char index, count) of the quote in the page's text, or None."""
    hay, where = _squeeze(page_text)
    needle, _ = _squeeze(quote)
    if not needle:
        return None
    pos = hay.find(needle)
    if pos < 0:
        needle = needle.replace("-", "")  # a hyphenated line break the parser joined
        hay_nohyphen = [(c, w) for c, w in zip(hay, where, strict=True) if c != "-"]
        joined = "".join(c for c, _ in hay_nohyphen)
        pos = joined.find(needle)
        if pos < 0:
            return None
        start, end = hay_nohyphen[pos][1], hay_nohyphen[pos + len(needle) - 1][1]
        return start, end - start + 1
    start, end = where[pos], where[pos + len(needle) - 1]
    return start, end - start + 1


def _spans(page_text: str, quote: str) -> list[tuple[int, int]]:
    """Where the quote is on the page. A quote from a table is Markdown: its rows are found one by one,
    cells in reading order, without the pipes and the header rule."""
    if not quote.lstrip().startswith("|"):
        found = _find(page_text, quote)
        return [found] if found else []
    spans = []
    for line in quote.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in line.strip().strip("|").split(" | ")]
        if set("".join(cells)) <= set("- "):
            continue  # the header rule
        if found := _find(page_text, " ".join(cells)):
            spans.append(found)
    return spans


def render_pdf_page(path: Path, page_number: int, quote: str = "") -> PageView:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InvalidInputError(f"the document's PDF cannot be opened: {exc}") from None
    try:
        if not 1 <= page_number <= len(pdf):
            raise NotFoundError(f"no page {page_number}: the PDF has {len(pdf)}")
        page = pdf[page_number - 1]
        width_pt, height_pt = page.get_size()
        image = page.render(scale=SCALE).to_pil().convert("RGB")
        boxes: list[Box] = []
        textpage = page.get_textpage()
        spans = _spans(textpage.get_text_range(), quote) if quote else []
        from PIL import ImageDraw

        overlay = ImageDraw.Draw(image, "RGBA")
        marked = "\n".join(" ".join(textpage.get_text_range(start, count).split()) for start, count in spans)
        for start, count in spans:
            for i in range(textpage.count_rects(start, count)):
                left, bottom, right, top = textpage.get_rect(i)
                box = Box(left=left / width_pt, top=1 - top / height_pt, width=(right - left) / width_pt,
                          height=(top - bottom) / height_pt)  # fmt: skip
                boxes.append(box)
                x0, y0 = box.left * image.width, box.top * image.height
                overlay.rectangle([x0, y0, x0 + box.width * image.width, y0 + box.height * image.height],
                                  fill=(255, 214, 0, 110))  # fmt: skip
        textpage.close()
        page.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return PageView(page=page_number, pages=len(pdf), image="data:image/png;base64," + base64.b64encode(
            buffer.getvalue()).decode(), width=image.width, height=image.height, highlights=boxes,
            highlighted_text=marked)  # fmt: skip
    finally:
        pdf.close()
