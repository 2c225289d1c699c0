"""`citewise bench legacy DIR`: the legacy Office files (.doc, .ppt, .xls) under DIR through each converter
that could read them (LibreOffice headless to the modern format and its parser; antiword, catdoc's catppt
and xls2csv to plain text), with how many each read (non-empty text) and its median seconds per file.
The figures chose LibreOffice (ingest/parsing/legacy.py)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TOOLS = {"doc": ["antiword", "-w", "0"], "ppt": ["catppt"], "xls": ["xls2csv"]}


def _libreoffice(path: Path) -> str:
    from citewise.ingest.parsing.dispatch import parse_document
    from citewise.models import RawDocument

    data = path.read_bytes()
    doc = RawDocument(source_id="bench", key=path.name, uri=str(path), title=path.stem, content=data,
                      metadata={"filename": path.name, "size_bytes": len(data)})  # fmt: skip
    return parse_document(doc).text


def _text_tool(path: Path) -> str:
    tool = TOOLS[path.suffix.lstrip(".").lower()]
    if shutil.which(tool[0]) is None:
        raise RuntimeError(f"{tool[0]} is not installed")
    with tempfile.TemporaryDirectory():
        done = subprocess.run([*tool, str(path)], capture_output=True, timeout=60, check=False)
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else ""


CONVERTERS: dict[str, Callable[[Path], str]] = {"libreoffice": _libreoffice, "antiword/catdoc": _text_tool}


def run_legacy_benchmark(folder: Path, log: Callable[[str], None] = print) -> dict:
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".doc", ".ppt", ".xls") and p.is_file())
    result: dict = {"files": len(files), "converters": {}}
    for name, convert in CONVERTERS.items():
        seconds, read, failures = [], 0, {}
        for path in files:
            t0 = time.perf_counter()
            try:
                text = convert(path)
            except Exception as exc:  # noqa: BLE001 - a converter's failure is a figure here
                text, failures[path.name] = "", f"{type(exc).__name__}: {exc}"[:160]
            seconds.append(time.perf_counter() - t0)
            read += bool(text.strip())
        median = round(statistics.median(seconds), 3) if seconds else None
        result["converters"][name] = {"read": read, "median_s": median, "failures": failures}
        log(f"{name:16s} read {read}/{len(files)}  median {result['converters'][name]['median_s']} s")
    return result
