"""Untrusted files are parsed in a worker process with hard limits, so a hostile file fails alone.

The parent watches the worker while it parses one file: resident memory, CPU time and wall time. On a breach
it kills the worker (the next file gets a fresh one) and the file fails with a reason (`memory_limit`,
`timeout`, `cpu_limit`); a worker that dies by itself fails the file with `parser_crashed`. The worker also
runs under an address-space rlimit as a backstop. Records that are already text (JSONL, database rows)
are split in-process: there is nothing to decompress or interpret.

Started with `forkserver`, so the worker never inherits the parent's threads, models or index handles.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import resource
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psutil

from citewise.errors import DocumentError
from citewise.ingest.parsing.dispatch import parse_document
from citewise.ingest.parsing.limits import ArchiveLimits
from citewise.ingest.parsing.ocr import OcrLimits
from citewise.ingest.parsing.pdf_tables import PdfTableLimits
from citewise.models import ParsedDocument, RawDocument

POLL_S = 0.02
STARTUP_S = 120.0
# Imported once by the fork server, so each new worker starts with the parsers loaded (a fork, not an import).
PRELOAD = ["citewise.ingest.parsing.dispatch", "citewise.ingest.parsing.preload"]
# Idle workers, shared by every sandbox of this process (tests and jobs open many ingestors).
_idle: list[_Worker] = []
_idle_lock = threading.Lock()


@atexit.register
def _stop_idle_workers() -> None:
    with _idle_lock:
        while _idle:
            worker = _idle.pop()
            worker.conn.close()  # the worker sees EOF and returns
            worker.proc.join(1)
            if worker.proc.is_alive():
                worker.proc.kill()


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    memory_bytes: int = 2 * 1024**3  # what parsing one file may add to the worker's resident memory
    cpu_s: float = 120.0
    wall_s: float = 180.0
    output_chars: int = 64 * 1024**2  # parsed text of one file
    address_space_bytes: int = 16 * 1024**3  # rlimit backstop (virtual: thread arenas and mappings count)
    archive: ArchiveLimits = ArchiveLimits()
    ocr: OcrLimits | None = OcrLimits()  # None: no OCR
    pdf_tables: PdfTableLimits | None = PdfTableLimits()  # None: PDF tables stay page text


def _parse(doc: RawDocument, max_bytes: int | None, limits: SandboxLimits) -> ParsedDocument:
    return parse_document(
        doc, max_bytes=max_bytes, archive_limits=limits.archive, ocr=limits.ocr, pdf_tables=limits.pdf_tables
    )


def _serve(conn: Connection, address_space: int) -> None:
    """The worker's loop: parse what arrives, send back a ParsedDocument or the DocumentError."""
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    conn.send(("ready", os.getpid()))  # start-up is not charged to the first file's limits
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        doc, max_bytes, limits = job
        try:
            parsed = _parse(doc, max_bytes, limits)
            if len(parsed.text) > limits.output_chars:
                raise DocumentError(
                    f"the file expands to {len(parsed.text):,} characters of text, over the limit of "
                    f"{limits.output_chars:,}",
                    kind="too_large_expanded",
                )
            conn.send(("ok", parsed))
        except DocumentError as exc:
            conn.send(("document_error", (exc.kind, exc.args[0])))
        except MemoryError:
            conn.send(("document_error", ("memory_limit", "parsing needed more memory than the sandbox allows")))
        except RecursionError:
            conn.send(("document_error", ("too_deep", "the document is nested too deeply to parse")))
        except Exception as exc:  # noqa: BLE001 - reported per file; the worker stays up
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass(slots=True)
class _Worker:
    proc: Any
    conn: Connection

    def alive(self) -> bool:
        return self.proc.is_alive()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def _start_worker(address_space: int) -> _Worker:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # takes effect when the fork server first starts
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, address_space), daemon=True)
    proc.start()
    child.close()
    worker = _Worker(proc, parent)
    if not parent.poll(STARTUP_S):
        worker.kill()
        raise DocumentError(f"the parser process did not start within {STARTUP_S:g} s", kind="parser_crashed")
    parent.recv()
    return worker


class ParserSandbox:
    """Parses in worker processes: one per thread parsing at that moment, taken from a pool this process
    shares (a worker holds nothing between files) and replaced after one is killed. Thread-safe, so
    concurrent syncs (Celery threads against a Qdrant server) never share a pipe."""

    def __init__(
        self, limits: SandboxLimits | None = None, *, max_bytes: int | None = None, in_process: bool = False
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.max_bytes = max_bytes
        self.in_process = in_process  # trusted data only: no worker, no limits but the archive checks

    @staticmethod
    def _acquire(address_space: int) -> _Worker:
        with _idle_lock:
            while _idle:
                worker = _idle.pop()
                if worker.alive():
                    return worker
        return _start_worker(address_space)

    @staticmethod
    def _release(worker: _Worker) -> None:
        if worker.alive():
            with _idle_lock:
                _idle.append(worker)

    def parse(self, doc: RawDocument) -> ParsedDocument:
        if doc.text is not None or self.in_process:  # records are already text: nothing to decompress
            return _parse(doc, self.max_bytes, self.limits)
        worker = self._acquire(self.limits.address_space_bytes)
        try:
            try:
                worker.conn.send((doc, self.max_bytes, self.limits))
            except (BrokenPipeError, OSError) as exc:
                worker.kill()
                raise DocumentError("the parser process could not take the file", kind="parser_crashed") from exc
            return self._wait(worker)
        finally:
            self._release(worker)

    def _wait(self, worker: _Worker) -> ParsedDocument:
        watched = psutil.Process(worker.proc.pid)
        cpu_start = sum(watched.cpu_times()[:2])
        rss_start = watched.memory_info().rss  # the worker's own size (parsers loaded, shared with its parent)
        started = time.monotonic()
        while not worker.conn.poll(POLL_S):
            breach = self._breach(watched, rss_start, cpu_start, started)
            if breach is not None:
                worker.kill()
                raise breach
        try:
            status, payload = worker.conn.recv()
        except (EOFError, OSError) as exc:
            code = worker.proc.exitcode
            worker.kill()
            raise DocumentError(f"the parser process died (exit code {code})", kind="parser_crashed") from exc
        if status == "ok":
            return payload
        if status == "document_error":
            kind, message = payload
            if kind == "memory_limit":  # a MemoryError leaves a worker with fragmented memory behind
                worker.kill()
            raise DocumentError(message, kind=kind)
        raise DocumentError(f"the parser failed: {payload}", kind="parser_error")

    def _breach(
        self, watched: psutil.Process, rss_start: int, cpu_start: float, started: float
    ) -> DocumentError | None:
        limits = self.limits
        try:
            if not watched.is_running() or watched.status() == psutil.STATUS_ZOMBIE:
                return DocumentError("the parser process died while parsing the file", kind="parser_crashed")
            rss = watched.memory_info().rss
            cpu = sum(watched.cpu_times()[:2]) - cpu_start
        except psutil.NoSuchProcess:
            return DocumentError("the parser process died while parsing the file", kind="parser_crashed")
        if rss - rss_start > limits.memory_bytes:
            return DocumentError(
                f"parsing took over {limits.memory_bytes / 2**20:,.0f} MiB of memory (a decompression bomb or "
                "an oversized file); raise CITEWISE_INGEST__PARSE_MEMORY_MB to allow it",
                kind="memory_limit",
            )
        if cpu > limits.cpu_s:
            return DocumentError(f"parsing used over {limits.cpu_s:g} s of CPU time", kind="cpu_limit")
        if time.monotonic() - started > limits.wall_s:
            return DocumentError(
                f"parsing took over {limits.wall_s:g} s; raise CITEWISE_INGEST__PARSE_TIMEOUT_S to allow it",
                kind="timeout",
            )
        return None

    def close(self) -> None:
        """Nothing to release: workers stay in the process's pool for the next sandbox (stopped at exit)."""
