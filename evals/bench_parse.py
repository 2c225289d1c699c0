"""What the parser sandbox costs: the same files parsed in-process and in the sandbox, alternating, in one run.

    citewise bench parse ../shared/evaldata/docs --repeats 2

Records that are already text (JSONL corpora such as SciFact) never enter the sandbox, so their cost is
nil by construction; this measures files. The sandbox's first start (the fork server loading the parsers)
is reported apart from the per-file figures.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from citewise.connectors.filesystem import FilesystemConnector
from citewise.errors import DocumentError
from citewise.ingest.parsing.sandbox import ParserSandbox
from citewise.models import RawDocument


def _parse_all(sandbox: ParserSandbox, docs: list[RawDocument]) -> tuple[float, int]:
    started, ok = time.perf_counter(), 0
    for doc in docs:
        try:
            sandbox.parse(doc)
            ok += 1
        except DocumentError:
            pass
    return time.perf_counter() - started, ok


def run_parse_benchmark(path: Path, *, repeats: int = 2, log: Callable[[str], None] = print) -> dict:
    docs = [d for d in FilesystemConnector(path=path, max_bytes=200_000_000).load() if isinstance(d, RawDocument)]
    log(f"{len(docs)} files under {path}")
    started = time.perf_counter()
    warm = ParserSandbox(max_bytes=200_000_000)
    warm.parse(RawDocument(source_id="s", key="w.txt", uri="w.txt", content=b"warm up", metadata={}))
    warm.close()
    startup = time.perf_counter() - started
    inline, sandboxed, parsed = [], [], 0
    for i in range(repeats):
        for in_process, out in ((True, inline), (False, sandboxed)):
            sandbox = ParserSandbox(max_bytes=200_000_000, in_process=in_process)
            seconds, parsed = _parse_all(sandbox, docs)
            sandbox.close()
            out.append(seconds)
            log(f"run {i + 1}: {'in-process' if in_process else 'sandbox'} {seconds:.2f} s")
    return {
        "files": len(docs),
        "parsed": parsed,
        "in_process_s_median": round(statistics.median(inline), 2),
        "sandbox_s_median": round(statistics.median(sandboxed), 2),
        "sandbox_overhead": f"{100 * (statistics.median(sandboxed) / statistics.median(inline) - 1):+.1f}%",
        "sandbox_first_start_s": round(startup, 2),
        "runs": {"in_process_s": [round(s, 2) for s in inline], "sandbox_s": [round(s, 2) for s in sandboxed]},
    }
