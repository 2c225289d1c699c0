"""OCR with Tesseract (Debian's `tesseract-ocr`, English, German and Korean data; `make install` installs
them): images, and PDF pages that have no text layer, one page at a time, keeping page numbers and each
page's mean word confidence. The `tesseract` command is run per page with a timeout; the file's pages are
capped by a budget, so a 500-page scan cannot hold a worker for an hour."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from citewise.errors import CitewiseError, DocumentError

DEFAULT_LANGUAGES = "deu+eng+kor"  # German first: with eng first, Tesseract drops umlauts (measured)


@dataclass(frozen=True, slots=True)
class OcrLimits:
    languages: str = DEFAULT_LANGUAGES
    max_pages: int = 50  # pages OCR'd per file; the rest are reported in the document's text as skipped
    page_timeout_s: float = 60.0
    file_timeout_s: float = 150.0  # under the sandbox's parse timeout, so the file fails with OCR's reason
    dpi: int = 300
    pictures: bool = True  # the pictures inside Office files too (ingest/parsing/pictures.py)


@dataclass(frozen=True, slots=True)
class OcrPage:
    text: str  # paragraphs separated by blank lines
    confidence: float | None  # mean word confidence, 0-100 (None: no words found)


def tesseract_path() -> str:
    found = shutil.which("tesseract")
    if found is None:
        raise DocumentError(
            "OCR needs the tesseract command (Debian: tesseract-ocr, tesseract-ocr-deu, tesseract-ocr-kor), "
            "which `make install` installs; scanned pages and images cannot be read without it",
            kind="ocr_unavailable",
        )
    return found


def ocr_image(png: bytes, limits: OcrLimits, timeout_s: float | None = None) -> OcrPage:
    """OCR one page image (PNG bytes): Tesseract's TSV output, words grouped back into lines and
    paragraphs, and the mean confidence of the words it kept."""
    cmd = [tesseract_path(), "stdin", "stdout", "-l", limits.languages, "--dpi", str(limits.dpi), "tsv"]
    try:
        done = subprocess.run(cmd, input=png, capture_output=True, timeout=timeout_s or limits.page_timeout_s,
                              check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise DocumentError(
            f"OCR of a page took over {timeout_s or limits.page_timeout_s:.0f} s", kind="timeout"
        ) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise DocumentError(f"tesseract failed: {message[0][:300]}", kind="ocr_failed")
    return _from_tsv(done.stdout.decode("utf-8", "replace"))


def _from_tsv(tsv: str) -> OcrPage:
    paragraphs: dict[tuple[int, int, int], list[list[str]]] = {}
    confidences: list[float] = []
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") != "5" or not (row.get("text") or "").strip():
            continue
        conf = float(row.get("conf") or -1)
        if conf < 0:
            continue
        key = (int(row["page_num"]), int(row["block_num"]), int(row["par_num"]))
        lines = paragraphs.setdefault(key, [])
        line_no = int(row["line_num"])
        while len(lines) < line_no:
            lines.append([])
        lines[line_no - 1].append(row["text"].strip())
        confidences.append(conf)
    text = "\n\n".join(" ".join(" ".join(words) for words in lines if words) for _, lines in sorted(paragraphs.items()))
    mean = round(sum(confidences) / len(confidences), 1) if confidences else None
    return OcrPage(text=text.strip(), confidence=mean)


class OcrBudget:
    """Pages (or pictures) and wall time left for OCR in one file."""

    def __init__(self, limits: OcrLimits, *, unit: str = "pages") -> None:
        self.limits, self.pages, self.deadline = limits, 0, time.monotonic() + limits.file_timeout_s
        self.unit = unit  # what is numbered: a PDF's pages, an Office file's pictures
        self.skipped: list[int] = []  # over the budget
        self.timed_out: list[int] = []  # Tesseract ran out of its page's time

    def read(self, page_number: int, png: Callable[[], bytes]) -> OcrPage | None:
        """The page OCR'd within the budget (`png` renders it only then); None when it is over the budget or
        times out (one slow page costs that page, not the file), recorded for `note`."""
        timeout = self.take(page_number)
        if timeout is None:
            return None
        try:
            return ocr_image(png(), self.limits, timeout)
        except DocumentError as exc:
            if exc.kind != "timeout":
                raise
            self.timed_out.append(page_number)
            return None

    def note(self) -> str:
        """What was not read, for the document's text ("" when every page was)."""
        parts = []
        if self.timed_out:
            parts.append(f"{_pages(self.timed_out)} (each took over its {self.limits.page_timeout_s:g} s)")
        if self.skipped:
            parts.append(f"{_pages(self.skipped)} (over the OCR budget of this file)")
        return f"[{self.unit} not OCR'd: {'; '.join(parts)}]" if parts else ""

    def take(self, page_number: int) -> float | None:
        """The time this page may take, or None (over budget: the page is skipped and recorded)."""
        left = self.deadline - time.monotonic()
        if self.pages >= self.limits.max_pages or left <= 1:
            self.skipped.append(page_number)
            return None
        self.pages += 1
        return min(self.limits.page_timeout_s, left)


def _pages(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:10])) + ("…" if len(numbers) > 10 else "")


def image_pages(content: bytes, *, frames: int | None = None) -> list[bytes]:
    """Each frame of an image file (a multi-page TIFF has several), or the first `frames`, as PNG bytes for
    Tesseract."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(content))
        image.verify()  # a truncated or hostile header fails here, before decoding
        image = Image.open(io.BytesIO(content))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DocumentError(f"the image cannot be read: {exc}", kind="corrupt") from None
    pages = []
    try:
        for n, frame in enumerate(ImageSequence.Iterator(image)):
            if frames is not None and n >= frames:
                break
            buffer = io.BytesIO()
            frame.convert("L").save(buffer, format="PNG")
            pages.append(buffer.getvalue())
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # truncated data, a pixel bomb
        raise DocumentError(f"the image cannot be decoded: {exc}", kind="corrupt") from None
    return pages


__all__ = ["OcrBudget", "OcrLimits", "OcrPage", "image_pages", "ocr_image", "tesseract_path", "CitewiseError"]
