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
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psutil

from citewise.errors import DocumentError
from citewise.ingest.parsing.dispatch import parse_document
from citewise.ingest.parsing.limits import ArchiveLimits
from citewise.models import ParsedDocument, RawDocument

POLL_S = 0.02
STARTUP_S = 120.0
# Imported once by the fork server, so each new worker starts with the parsers loaded (a fork, not an import).
PRELOAD = ["citewise.ingest.parsing.dispatch", "citewise.ingest.parsing.preload"]
# Workers of closed sandboxes, kept for the next one in this process (tests and jobs open many ingestors).
_idle: list[tuple[Any, Connection]] = []


@atexit.register
def _stop_idle_workers() -> None:
    while _idle:
        proc, conn = _idle.pop()
        conn.close()
        proc.join(1)
        if proc.is_alive():
            proc.kill()


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    memory_bytes: int = 2 * 1024**3  # what parsing one file may add to the worker's resident memory
    cpu_s: float = 120.0
    wall_s: float = 180.0
    output_chars: int = 64 * 1024**2  # parsed text of one file
    address_space_bytes: int = 16 * 1024**3  # rlimit backstop (virtual: thread arenas and mappings count)
    archive: ArchiveLimits = ArchiveLimits()


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
            parsed = parse_document(doc, max_bytes=max_bytes, archive_limits=limits.archive)
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


class ParserSandbox:
    """One parsing worker, started on first use and replaced after it is killed."""

    def __init__(
        self, limits: SandboxLimits | None = None, *, max_bytes: int | None = None, in_process: bool = False
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.max_bytes = max_bytes
        self.in_process = in_process  # trusted data only: no worker, no limits but the archive checks
        self._proc: Any = None
        self._conn: Connection | None = None

    def _start(self) -> None:
        while _idle:
            proc, conn = _idle.pop()
            if proc.is_alive():
                self._proc, self._conn = proc, conn
                return
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)  # takes effect when the fork server first starts
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.limits.address_space_bytes), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(STARTUP_S):
            self._kill()
            raise DocumentError(f"the parser process did not start within {STARTUP_S:g} s", kind="parser_crashed")
        parent.recv()

    def _kill(self) -> None:
        if self._proc is not None and self._proc.pid is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def parse(self, doc: RawDocument) -> ParsedDocument:
        if doc.text is not None or self.in_process:  # records are already text: nothing to decompress
            return parse_document(doc, max_bytes=self.max_bytes, archive_limits=self.limits.archive)
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        assert self._conn is not None
        try:
            self._conn.send((doc, self.max_bytes, self.limits))
        except (BrokenPipeError, OSError) as exc:
            self._kill()
            raise DocumentError("the parser process could not take the file", kind="parser_crashed") from exc
        return self._wait()

    def _wait(self) -> ParsedDocument:
        assert self._conn is not None and self._proc is not None
        watched = psutil.Process(self._proc.pid)
        cpu_start = sum(watched.cpu_times()[:2])
        rss_start = watched.memory_info().rss  # the worker's own size (parsers loaded, shared with its parent)
        started = time.monotonic()
        while not self._conn.poll(POLL_S):
            breach = self._breach(watched, rss_start, cpu_start, started)
            if breach is not None:
                self._kill()
                raise breach
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError) as exc:
            code = self._proc.exitcode if self._proc is not None else None
            self._kill()
            raise DocumentError(f"the parser process died (exit code {code})", kind="parser_crashed") from exc
        if status == "ok":
            return payload
        if status == "document_error":
            kind, message = payload
            if kind == "memory_limit":  # a MemoryError leaves a worker with fragmented memory behind
                self._kill()
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
        """Hand a healthy worker on to the next sandbox of this process (it holds no state between files)."""
        if self._proc is not None and self._conn is not None and self._proc.is_alive():
            _idle.append((self._proc, self._conn))
            self._proc = self._conn = None
        self._kill()
