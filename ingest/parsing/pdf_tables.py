"""Ruled tables on PDF pages, found by pdfplumber and kept as rows.

pdfplumber reads a page through pdfminer, ~50-900 ms a page against pypdfium2's ~2 ms, so it only sees the
pages on which pdfium's path segments cross in a grid (`has_grid`: three rows and three columns of
crossings, the fewest that bound a 2x2 table). The cells' text still comes from pdfium (`lay_out`), so no
word is indexed twice and page text stays what the viewer highlights. Tables drawn without rules, and
tables in scans, stay page text.
"""

from __future__ import annotations

import ctypes
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pypdfium2.raw as pdfium_c

log = logging.getLogger(__name__)

MIN_RULES = 3  # rows and columns of crossings: a header, one row and two columns need three of each
MAX_PATHS = 1_000  # a page with more is vector art: pdfminer takes seconds on it (3 s for 5,000 curves)
MAX_MEAN_CELL_CHARS = 200  # boxes of prose laid out in a grid are not a table
OFF_PAGE = -1
MIN_FILLED = 0.5  # the share of cells with text; frames and decorations are mostly empty


@dataclass(frozen=True, slots=True)
class PdfTableLimits:
    max_pages: int = 50  # pages per file read by pdfplumber; later ones keep their tables as text


Box = tuple[float, float, float, float]  # left, bottom, right, top in PDF page space (pdfium's)
Rows = list[list[str]]
Piece = tuple[str, "str | Rows"]  # ("text", paragraph text) or ("table", rows), in reading order


@dataclass(frozen=True, slots=True)
class Grid:
    """A table pdfplumber found: its box and its cells' boxes, row by row (None: a merged cell's rest)."""

    box: Box
    cells: list[list[Box | None]]


def has_grid(page: Any) -> bool:  # noqa: ANN401 - a pypdfium2 PdfPage
    """Whether the page's straight rules cross in a grid of at least MIN_RULES columns and rows of crossings
    (the fewest that bound a 2x2 table): a frame, an underline or a rule under a heading does not."""
    paths = list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_PATH,)))
    if len(paths) > MAX_PATHS:
        return False
    across: list[tuple[float, float, float]] = []  # y, x from, x to
    down: list[tuple[float, float, float]] = []  # x, y from, y to
    for a, b in _edges(paths):
        dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
        if dy < 1 and dx > 5:
            across.append((a[1], min(a[0], b[0]), max(a[0], b[0])))
        elif dx < 1 and dy > 5:
            down.append((a[0], min(a[1], b[1]), max(a[1], b[1])))
    if len(across) < MIN_RULES or len(down) < MIN_RULES:
        return False
    h, v = np.array(across), np.array(down)
    tol = 3.0  # pdfplumber's snap tolerance
    meets = (
        (v[None, :, 0] >= h[:, None, 1] - tol)
        & (v[None, :, 0] <= h[:, None, 2] + tol)
        & (h[:, None, 0] >= v[None, :, 1] - tol)
        & (h[:, None, 0] <= v[None, :, 2] + tol)
    )
    rows, cols = np.nonzero(meets)
    ys = np.unique(np.round(h[rows, 0] / tol))
    xs = np.unique(np.round(v[cols, 0] / tol))
    return len(ys) >= MIN_RULES and len(xs) >= MIN_RULES


def _edges(paths: list[Any]) -> Iterator[tuple[tuple[float, float], tuple[float, float]]]:
    """Every straight segment of the paths in page space, closing segments (a rectangle's fourth side) too."""
    x, y = ctypes.c_float(), ctypes.c_float()
    for obj in paths:
        m = obj.get_matrix()
        previous = start = None
        for i in range(pdfium_c.FPDFPath_CountSegments(obj.raw)):
            segment = pdfium_c.FPDFPath_GetPathSegment(obj.raw, i)
            pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
            point = (m.a * x.value + m.c * y.value + m.e, m.b * x.value + m.d * y.value + m.f)
            kind = pdfium_c.FPDFPathSegment_GetType(segment)
            if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
                start = point
            elif kind == pdfium_c.FPDF_SEGMENT_LINETO and previous is not None:
                yield previous, point
            if pdfium_c.FPDFPathSegment_GetClose(segment) and start is not None and start != point:
                yield point, start
            previous = point


class PlumberPages:
    """The document opened by pdfplumber once, on the first page that needs it."""

    def __init__(self, content: bytes, limits: PdfTableLimits) -> None:
        self._content = content
        self._limits = limits
        self._pdf: Any = None
        self._read = 0
        self._broken = False

    def grids(self, index: int, mediabox: Box) -> list[Grid]:
        """The page's ruled tables; [] when pdfplumber cannot read it (the page stays text)."""
        if self._broken or self._read >= self._limits.max_pages:
            return []
        self._read += 1
        try:
            if self._pdf is None:
                import pdfplumber

                self._pdf = pdfplumber.open(io.BytesIO(self._content))
            page = self._pdf.pages[index]
            page = page.crop(page.bbox)  # content drawn off the page (a spread's other half) is not this page's
            left, _, _, high = mediabox

            def box(x0: float, top: float, x1: float, bottom: float) -> Box:  # pdfplumber's: from the top left, down
                return (left + x0, high - bottom, left + x1, high - top)

            found = [
                Grid(box(*t.bbox), [[box(*c) if c else None for c in r.cells] for r in t.rows])
                for t in page.find_tables()
            ]
            page.close()
            return found
        except Exception as exc:  # pdfminer is stricter than pdfium on damaged files: keep the text
            log.info("pdfplumber could not read tables on page %d: %s", index + 1, exc)
            self._broken = True
            return []

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def is_data_table(rows: list[list[str]]) -> bool:
    rows = [r for r in rows if any(r)]
    if len(rows) < 2 or max(len(r) for r in rows) < 2:
        return False
    cells = [c for r in rows for c in r]
    filled = [c for c in cells if c]
    return len(filled) >= MIN_FILLED * len(cells) and sum(map(len, filled)) / len(filled) <= MAX_MEAN_CELL_CHARS


def lay_out(textpage: Any, grids: list[Grid], page_box: Box) -> list[Piece]:  # noqa: ANN401 - a PdfTextPage
    """The page as text and tables in reading order, every character in exactly one place.

    Each character goes where its centre is: a table's cell, or the text above a band of tables (tables
    that share a height), beside it (after the band's tables), or below the last. pdfium's generated spaces
    and line breaks sit on the character before them, so they follow it. Grids that turn out not to hold
    data (`is_data_table`) give their characters back to the text. Characters drawn off the page (a
    spread's other half) are left out, as pdfium's page text leaves them."""
    centres = [_centre(textpage.get_charbox(i)) for i in range(textpage.count_chars())]
    cells: dict[tuple[int, int, int], list[int]] = {}
    taken: dict[int, int] = {}  # char -> grid
    cell_of: dict[int, tuple[int, int, int]] = {}
    rows_of = [_row_spans(grid) for grid in grids]
    for i, (x, y) in enumerate(centres):
        if not _inside(page_box, x, y):
            taken[i] = OFF_PAGE
            continue
        for g, grid in enumerate(grids):
            if _inside(grid.box, x, y):
                spot = _cell_at(rows_of[g], x, y)
                if spot:  # in the grid but in no cell (a gap between cells): it stays text, never lost
                    taken[i] = g
                    cells.setdefault((g, *spot), []).append(i)
                    cell_of[i] = (g, *spot)
                break
    tables: dict[int, Rows] = {}
    for g, grid in enumerate(grids):
        rows = [
            [_text(textpage, cells.get((g, r, c), [])) for c in range(len(row))] for r, row in enumerate(grid.cells)
        ]
        if is_data_table(rows) and not _cuts_words(textpage, cell_of, g):
            tables[g] = rows
    bands: list[list[int]] = []
    for g in sorted(tables, key=lambda g: -grids[g].box[3]):  # top to bottom
        if bands and grids[g].box[3] > min(grids[b].box[1] for b in bands[-1]):
            bands[-1].append(g)
        else:
            bands.append([g])
    spans = [(min(grids[g].box[1] for g in band), max(grids[g].box[3] for g in band)) for band in bands]
    above: list[list[int]] = [[] for _ in bands]
    beside: list[list[int]] = [[] for _ in bands]
    below: list[int] = []
    for i, (_, y) in enumerate(centres):
        if taken.get(i) in tables or taken.get(i) == OFF_PAGE:
            continue
        k = next((k for k, (low, _) in enumerate(spans) if y >= low), None)
        if k is None:
            below.append(i)
        elif y > spans[k][1]:
            above[k].append(i)
        else:
            beside[k].append(i)
    pieces: list[Piece] = []
    for k, band in enumerate(bands):
        pieces.append(("text", _text(textpage, above[k])))
        pieces += [("table", tables[g]) for g in sorted(band, key=lambda g: grids[g].box[0])]
        pieces.append(("text", _text(textpage, beside[k])))
    pieces.append(("text", _text(textpage, below)))
    return [p for p in pieces if p[1]]


def _row_spans(grid: Grid) -> list[tuple[float, float, int, list[tuple[int, Box]]]]:
    """Each row's height span and its cells, so a character is looked up by row, then by cell (rows + cells
    tests instead of rows x cells)."""
    spans = []
    for r, row in enumerate(grid.cells):
        boxes = [(c, b) for c, b in enumerate(row) if b]
        if boxes:
            spans.append((min(b[1] for _, b in boxes), max(b[3] for _, b in boxes), r, boxes))
    return spans


def _cell_at(rows: list[tuple[float, float, int, list[tuple[int, Box]]]], x: float, y: float) -> tuple[int, int] | None:
    for low, high, r, boxes in rows:
        if low <= y <= high:
            for c, b in boxes:
                if _inside(b, x, y):
                    return r, c
    return None


def _cuts_words(textpage: Any, cell_of: dict[int, tuple[int, int, int]], grid: int) -> bool:  # noqa: ANN401
    """A rule through a word (two letters in a row that fall in different cells): a layout frame, not a table."""
    for i, cell in cell_of.items():
        after = cell_of.get(i + 1)
        if cell[0] == grid and after is not None and after != cell and after[0] == grid:
            pair = textpage.get_text_range(i, 2)
            if len(pair) == 2 and pair.isalnum():
                return True
    return False


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _inside(box: Box, x: float, y: float) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _text(textpage: Any, chars: list[int]) -> str:  # noqa: ANN401
    """The characters' text, run by run of neighbours (the text between runs is somewhere else: a line break)."""
    runs: list[str] = []
    start = previous = None
    for i in [*chars, None]:
        if start is not None and (i is None or i != previous + 1):
            runs.append(textpage.get_text_range(start, previous - start + 1))
            start = None
        if i is not None and start is None:
            start = i
        previous = i
    return "\r\n".join(runs).strip()
