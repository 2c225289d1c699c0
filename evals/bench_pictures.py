"""`citewise bench pictures DIR`: the Office files under DIR parsed with and without reading their pictures,
in one run: seconds each way (medians of the repeats; one untimed parse first, so unstructured's start-up
counts for neither), and which files gained text from how many pictures."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

OFFICE = {".docx", ".pptx", ".xlsx", ".odt", ".doc", ".ppt", ".xls"}


def run_pictures_benchmark(folder: Path, *, repeats: int = 3, log: Callable[[str], None] = print) -> dict:
    from citewise.errors import DocumentError
    from citewise.ingest.parsing.dispatch import parse_document
    from citewise.ingest.parsing.ocr import OcrLimits
    from citewise.models import RawDocument

    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in OFFICE)
    docs = [RawDocument(source_id="bench", key=p.name, uri=str(p), title=p.stem, content=p.read_bytes(),
                        metadata={"filename": p.name}) for p in files]  # fmt: skip
    off, on = OcrLimits(pictures=False), OcrLimits(pictures=True)

    def parse(doc: RawDocument, limits: OcrLimits):  # noqa: ANN202
        try:
            return parse_document(doc, ocr=limits)
        except DocumentError:  # empty, encrypted: refused either way (or, with pictures, read after all)
            return None

    if docs:
        parse(docs[0], off)  # unstructured and spaCy load here, outside the timings
    off_s, on_s = [], []
    gained: dict[str, int] = {}
    for r in range(repeats):
        t_off = t_on = 0.0
        for doc in docs:  # alternating, file by file, so drift hits both sides alike
            t0 = time.perf_counter()
            parse(doc, off)
            t1 = time.perf_counter()
            parsed = parse(doc, on)
            t2 = time.perf_counter()
            t_off, t_on = t_off + t1 - t0, t_on + t2 - t1
            read = sum(1 for e in parsed.elements if e.ocr_confidence is not None) if parsed else 0
            if r == 0 and read:
                gained[doc.key] = read
        off_s.append(t_off)
        on_s.append(t_on)
        log(f"[{r + 1}/{repeats}] without pictures {t_off:.2f} s, with {t_on:.2f} s")
    return {
        "files": len(docs),
        "without_pictures_s": round(statistics.median(off_s), 3) if docs else 0.0,
        "with_pictures_s": round(statistics.median(on_s), 3) if docs else 0.0,
        "files_with_picture_text": len(gained),
        "picture_blocks_by_file": gained,
    }
