"""PDF by its text layer with pypdfium2 (~60x faster than unstructured's PDF path; page numbers kept), ruled
tables as rows (pdf_tables.py), and OCR (Tesseract, ocr.py) for the pages that have no text layer, and for
image files, page by page."""

from __future__ import annotations

import io
from dataclasses import replace

import pypdfium2 as pdfium

from citewise.errors import CorruptDocumentError, DocumentError, EncryptedDocumentError, NoTextLayerError
from citewise.ingest.parsing.assemble import Block, assemble, paragraphs
from citewise.ingest.parsing.ocr import OcrBudget, OcrLimits, OcrPage, image_pages
from citewise.ingest.parsing.pdf_tables import PdfTableLimits, Piece, PlumberPages, has_grid, lay_out
from citewise.ingest.parsing.tabular import markdown_table, table_data
from citewise.models import ParsedDocument, TableData

MIN_PAGE_CHARS = 20  # a page with less text than this is a scan (or a picture) and is OCR'd


def parse_pdf(
    content: bytes, *, title: str, ocr: OcrLimits | None = None, tables: PdfTableLimits | None = None
) -> ParsedDocument:
    try:
        pdf = pdfium.PdfDocument(content)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise EncryptedDocumentError(
                "the PDF is password-protected; remove the password (or export an unprotected copy) and ingest it again"
            ) from exc
        raise CorruptDocumentError(f"the PDF cannot be opened ({exc}); it is damaged or not a PDF") from exc
    budget = OcrBudget(ocr) if ocr else None
    plumber = PlumberPages(content, tables) if tables else None
    found: list[TableData] = []
    try:
        blocks: list[Block] = []
        n_pages = len(pdf)
        for i in range(n_pages):
            page = pdf[i]
            textpage = page.get_textpage()
            text = textpage.get_text_bounded()
            if len(text.strip()) < MIN_PAGE_CHARS and budget is not None:
                blocks.extend(_ocr_page(page, i + 1, budget) or paragraphs(_unwrap(text), page=i + 1))
            elif pieces := _with_tables(page, textpage, i, plumber):
                for kind, value in pieces:
                    if kind == "text":
                        blocks.extend(paragraphs(_unwrap(value), page=i + 1))
                        continue
                    rows = [[" ".join(_unwrap(cell).split()) for cell in row] for row in value]
                    blocks.append(Block("table", markdown_table(rows), page=i + 1))
                    if table := table_data(f"{title} p{i + 1}.{len(found) + 1}", rows):
                        found.append(table)
            else:
                blocks.extend(paragraphs(_unwrap(text), page=i + 1))
            textpage.close()
            page.close()
    finally:
        if plumber:
            plumber.close()
        pdf.close()
    if not blocks:
        if budget is not None and budget.timed_out:
            raise DocumentError(f"OCR of every page took over {budget.limits.page_timeout_s:.0f} s", kind="timeout")
        hint = "OCR found no text on it" if budget else "OCR is off (ingest.ocr)"
        raise NoTextLayerError(f"the PDF has {n_pages} page(s) but no text layer (a scan or images only); {hint}")
    _note_unread(blocks, budget)
    parsed = assemble(blocks, title=title, pages=n_pages)
    parsed.tables = found
    return parsed


def _with_tables(page, textpage, index: int, plumber: PlumberPages | None) -> list[Piece]:  # noqa: ANN001
    """The page's text and ruled tables in reading order; [] for a page without a table (read as plain text)."""
    if plumber is None or page.get_rotation() != 0 or not has_grid(page):  # rotated: pdfplumber's boxes differ
        return []
    grids = plumber.grids(index, page.get_mediabox())
    pieces = lay_out(textpage, grids, page.get_mediabox()) if grids else []
    return pieces if any(kind == "table" for kind, _ in pieces) else []


def _ocr_page(page, number: int, budget: OcrBudget) -> list[Block]:  # noqa: ANN001 - a pdfium page
    """The page rendered at the OCR resolution and read by Tesseract; its confidence goes on its blocks."""

    def png() -> bytes:
        buffer = io.BytesIO()
        page.render(scale=budget.limits.dpi / 72).to_pil().convert("L").save(buffer, format="PNG")
        return buffer.getvalue()

    return _blocks(budget.read(number, png), number)


def _blocks(result: OcrPage | None, number: int) -> list[Block]:
    if result is None:
        return []
    return [replace(b, ocr_confidence=result.confidence) for b in paragraphs(result.text, page=number)]


def parse_image(content: bytes, *, title: str, ocr: OcrLimits | None) -> ParsedDocument:
    """An image file (a multi-page TIFF page by page) through OCR."""
    if ocr is None:
        raise NoTextLayerError("images are read by OCR, which is off (ingest.ocr)")
    budget = OcrBudget(ocr)
    frames = image_pages(content)
    blocks: list[Block] = []
    for number, png in enumerate(frames, 1):
        blocks += _blocks(budget.read(number, lambda png=png: png), number)
    if not blocks:
        if budget.timed_out:
            raise DocumentError(f"OCR of every page took over {ocr.page_timeout_s:.0f} s", kind="timeout")
        raise NoTextLayerError(f"OCR found no text in the image ({len(frames)} page(s))")
    _note_unread(blocks, budget)
    return assemble(blocks, title=title, pages=len(frames))


def _note_unread(blocks: list[Block], budget: OcrBudget | None) -> None:
    """The pages OCR left unread are named in the text, so a reader knows the document is incomplete."""
    if budget is not None and (note := budget.note()):
        blocks.append(Block("text", note, page=min(budget.skipped + budget.timed_out)))


def _unwrap(text: str) -> str:
    """pdfium ends every visual line with CRLF; keep blank lines as paragraph breaks, join the rest."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    for line in lines:
        line = line.strip()
        if not line:
            out.append("\n\n")
        elif out and not out[-1].endswith("\n"):
            out.append((" " if not out[-1].endswith("-") else "") + line)
        else:
            out.append(line)
    return "".join(out)
