"""`citewise bench pdf-tables DIR`: the PDFs under DIR parsed with and without the table search, in one run:
pages pdfium found a grid on, tables kept and in which files, seconds with and without (medians of the
repeats), and whether every word of the plain parse is still there (each once) with tables."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path


def _words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text))


def run_pdf_tables_benchmark(folder: Path, *, repeats: int = 3, log: Callable[[str], None] = print) -> dict:
    import pypdfium2 as pdfium

    from citewise.errors import DocumentError
    from citewise.ingest.parsing.pdf import parse_pdf
    from citewise.ingest.parsing.pdf_tables import PdfTableLimits, has_grid

    files = sorted(p for p in Path(folder).rglob("*.pdf") if p.is_file())
    plain_s, tables_s = [], []
    per_file: dict[str, dict] = {}
    pages = grid_pages = 0
    for r in range(repeats):
        t_plain = t_tables = 0.0
        for path in files:
            data = path.read_bytes()
            try:
                t0 = time.perf_counter()
                plain = parse_pdf(data, title=path.stem)
                t1 = time.perf_counter()
                with_tables = parse_pdf(data, title=path.stem, tables=PdfTableLimits())
                t2 = time.perf_counter()
            except DocumentError:
                continue  # encrypted, no text layer: the same either way
            t_plain, t_tables = t_plain + t1 - t0, t_tables + t2 - t1
            if r == 0:
                pdf = pdfium.PdfDocument(data)
                grids = sum(has_grid(pdf[i]) for i in range(len(pdf)))
                pages, grid_pages = pages + len(pdf), grid_pages + grids
                pdf.close()
                a, b = _words(plain.text), _words(with_tables.text)
                lost, added = sum((a - b).values()), sum((b - a).values())
                per_file[path.name] = {"tables": len(with_tables.tables), "grid_pages": grids,
                                       "words_lost": lost, "words_added": added}  # fmt: skip
        plain_s.append(t_plain)
        tables_s.append(t_tables)
        log(f"[{r + 1}/{repeats}] plain {t_plain:.2f} s, with tables {t_tables:.2f} s")
    kept = {name: f["tables"] for name, f in per_file.items() if f["tables"]}
    return {
        "pdfs": len(files),
        "parsed": len(per_file),
        "pages": pages,
        "grid_pages": grid_pages,
        "tables": sum(kept.values()),
        "tables_by_file": kept,
        "plain_s": round(statistics.median(plain_s), 3),
        "with_tables_s": round(statistics.median(tables_s), 3),
        "slowdown": round(statistics.median(tables_s) / statistics.median(plain_s), 2),
        "words_changed": {
            n: {k: f[k] for k in ("words_lost", "words_added")}
            for n, f in per_file.items()
            if f["words_lost"] or f["words_added"]
        },  # fmt: skip
    }
