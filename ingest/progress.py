"""Progress on a terminal (rich): documents done/total, chunks/s, ETA. Silent when not wanted."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console


class Progress(Protocol):
    shows_total: bool  # whether start() wants a document count (costs the caller a listing pass)

    def start(self, total: int | None, label: str) -> None: ...

    def advance(self, docs: int = 1, chunks: int = 0) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    shows_total = False

    def start(self, total: int | None, label: str) -> None:
        pass

    def advance(self, docs: int = 1, chunks: int = 0) -> None:
        pass

    def finish(self) -> None:
        pass


class RichProgress:
    shows_total = True

    def __init__(self, console: Console | None = None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("docs"),
            TextColumn("{task.fields[chunks]} chunks ({task.fields[rate]} chunks/s)"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task = None
        self._chunks = 0
        self._t0 = 0.0

    def start(self, total: int | None, label: str) -> None:
        self._t0 = time.perf_counter()
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, chunks=0, rate="0")

    def advance(self, docs: int = 1, chunks: int = 0) -> None:
        self._chunks += chunks
        rate = self._chunks / max(time.perf_counter() - self._t0, 1e-6)
        self._bar.update(self._task, advance=docs, chunks=self._chunks, rate=f"{rate:.0f}")

    def finish(self) -> None:
        self._bar.stop()


def default_progress(quiet: bool) -> Progress:
    return NoProgress() if quiet or not sys.stderr.isatty() else RichProgress()
