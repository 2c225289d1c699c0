"""Switch a collection to another dense encoder without fetching or parsing any source again.

The chunks' text is in the index already: each live point's embedded text (title and section prefix, then the
chunk) is rebuilt from its payload, embedded by the new encoder and written, with its payload and BM25 vector,
into a new physical collection while the old one keeps answering. Then one row update swaps the generations
and the old collection is dropped. Progress (done/total) lives on the generation row; a reindex that died
resumes: points already in the new collection are not embedded again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from citewise.models import ChunkPayload
from citewise.retrieval.encoders.dense import load_dense_encoder
from citewise.retrieval.generations import Generation
from citewise.retrieval.index import ActiveIndex
from citewise.retrieval.stores import open_store
from citewise.retrieval.stores.base import Filter, Point, ScoredPoint, VectorStore
from citewise.settings import Settings

log = logging.getLogger(__name__)

PAGE = 256  # points read, embedded and written at a time
SWAP_GRACE_S = 2.0  # > ActiveIndex.REFRESH_S: other processes have moved to the new generation before the drop


class ReindexStopped(Exception):
    """The process is shutting down; the reindex resumes where it stopped."""


@dataclass(slots=True)
class ReindexReport:
    collection: str
    encoder: str
    previous_encoder: str
    total: int = 0
    embedded: int = 0
    skipped: int = 0  # already in the new collection (a resumed reindex)
    seconds: float = 0.0


def _pages(store: VectorStore) -> Iterator[list[ScoredPoint]]:
    """Every live point of `store`, a page at a time (points of a document being written are its next sync's):
    the ids are listed first, payloads read a page at a time, so memory holds ids and one page of texts."""
    live = Filter(match={"status": "live"})
    ids = sorted(p.id for p in store.scroll(live, limit=10**9, with_payload=False))  # a resumed run: same order
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE]
        points = {p.id: p for p in store.scroll(live.model_copy(update={"ids": page}), limit=len(page))}
        yield [points[i] for i in page if i in points]


def reindex(
    settings: Settings,
    encoder_name: str,
    *,
    index: ActiveIndex | None = None,
    progress: Callable[[int, int], None] | None = None,
    after_page: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> ReindexReport:
    """Rebuild `settings.index.collection` (or `index`'s) with `encoder_name`; returns when it answers from it.

    `index` is the live index of this process, swapped in place (the API server passes its own); without one the
    reindex opens the collection itself. `after_page(done)` runs after each page is written (tests stop there)."""
    from citewise.ingest.chunking import Chunker
    from citewise.retrieval.encoders.model_files import load_tokenizer, resolve_model_dir
    from citewise.retrieval.encoders.sparse import Bm25Encoder

    index = index or ActiveIndex(settings, settings.index.collection)
    if index.fixed:
        raise ValueError("an index with an injected store or encoder has no generations to reindex")
    t0 = time.perf_counter()
    live = index.live()
    report = ReindexReport(index.collection, encoder_name, live.encoder)
    if live.encoder == encoder_name and not live.reindexing:
        return report
    old_store = index.store
    total = old_store.count(Filter(match={"status": "live"}))
    target = index.generations.begin(index.collection, encoder_name, total)
    report.total = total
    encoder = load_dense_encoder(settings.embedding, encoder_name)
    new_store = open_store(settings, encoder.dim, target.target_physical)
    chunker = Chunker(load_tokenizer(resolve_model_dir(settings.embedding)), settings.chunking)
    sparse = Bm25Encoder(settings.sparse)
    done = 0
    try:
        for page in _pages(old_store):
            present = {p.id for p in new_store.scroll(Filter(ids=[p.id for p in page]), limit=len(page))}
            todo = [p for p in page if p.id not in present]
            report.skipped += len(page) - len(todo)
            if todo:
                texts = [chunker.embed_text(p.payload.title, p.payload.section_path, p.payload.text) for p in todo]
                dense = encoder.embed_documents(texts)
                bm25 = sparse.embed_documents(texts, [_language(p.payload, settings) for p in todo])
                new_store.upsert([Point(p.id, dense[i].tolist(), bm25[i], p.payload) for i, p in enumerate(todo)])
                report.embedded += len(todo)
            done += len(page)
            index.generations.progress(index.collection, done)
            if progress:
                progress(done, total)
            if after_page:
                after_page(done)
            if stop is not None and stop.is_set():
                raise ReindexStopped(f"stopped at {done} of {total}; resumes on the next start")
        new_store.flush()
    except ReindexStopped:
        new_store.close()  # left "reindexing": the next start resumes it
        raise
    except BaseException as exc:
        index.generations.fail(index.collection, f"{type(exc).__name__}: {exc}")
        new_store.close()
        raise
    retired: list[Generation] = []

    def commit() -> Generation:
        retired.append(index.generations.swap(index.collection))
        now = index.generations.get(index.collection)
        assert now is not None
        return now

    index.swap(commit, new_store, encoder)
    _drop(settings, retired[0], old_store)  # this process's handle is retired: nobody reads it any more
    now = index.live()
    report.seconds = round(time.perf_counter() - t0, 3)
    log.info("collection %s now answers from %s (%s)", index.collection, now.physical, encoder_name)
    return report


def _language(payload: ChunkPayload, settings: Settings) -> str:
    return payload.language or settings.sparse.language


def _drop(settings: Settings, old: Generation, store: VectorStore) -> None:
    """The retired generation's collection, once other processes have had time to follow the swap."""
    time.sleep(SWAP_GRACE_S if settings.index.backend != "edge" else 0)  # Edge: one process holds the index
    store.drop()
    log.info("dropped %s (%s)", old.physical, old.encoder)


class Reindexer:
    """Runs one reindex at a time on a background thread of this process (the API server's), holding the
    process's write lock so no upload or sync writes to the collection while its points are copied."""

    def __init__(self, settings: Settings, index: ActiveIndex, write_lock: threading.Lock) -> None:
        self.settings = settings
        self.index = index
        self.write_lock = write_lock
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, encoder_name: str) -> Generation:
        from citewise.errors import ConflictError, InvalidInputError
        from citewise.retrieval.encoders.dense import ENCODERS

        if encoder_name not in ENCODERS:
            raise InvalidInputError(f"unknown encoder {encoder_name!r}; one of: {', '.join(ENCODERS.names())}")
        with self._guard:
            if self.running:
                raise ConflictError("a reindex is running already; GET /v1/admin/reindex shows its progress")
            if self.index.live().encoder != encoder_name:  # recorded now, so the answer names the target
                total = self.index.store.count(Filter(match={"status": "live"}))
                self.index.generations.begin(self.index.collection, encoder_name, total)
            self._thread = threading.Thread(
                target=self._run, args=(encoder_name,), name="citewise-reindex", daemon=True
            )
            self._thread.start()
        return self.status()

    def _run(self, encoder_name: str) -> None:
        try:
            with self.write_lock:
                reindex(self.settings, encoder_name, index=self.index, stop=self._stop)
        except ReindexStopped as exc:
            log.warning("reindex to %s: %s", encoder_name, exc)
        except Exception:  # noqa: BLE001 - recorded on the generation row; the old collection keeps answering
            log.exception("reindex to %s failed", encoder_name)

    def resume_or_follow_settings(self) -> None:
        """At start: finish a reindex a crash interrupted; else, when settings name another encoder than the
        collection was built with and `embedding.reindex_on_start` is on, start one to it."""
        live = self.index.generations.get(self.index.collection) or self.index.live()
        if live.status == "reindexing" and live.target_encoder:
            log.warning("resuming the reindex of %s to %s (%d of %d done)", live.collection, live.target_encoder,
                        live.done, live.total)  # fmt: skip
            self.start(live.target_encoder)
        elif live.encoder != self.settings.embedding.backend and self.settings.embedding.reindex_on_start:
            log.warning("reindexing %s from %s to %s in the background; it answers with %s until then",
                        live.collection, live.encoder, self.settings.embedding.backend, live.encoder)  # fmt: skip
            self.start(self.settings.embedding.backend)

    def status(self) -> Generation:
        live = self.index.generations.get(self.index.collection)
        return live if live is not None else self.index.live()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        """At shutdown: the running reindex stops after its page and resumes at the next start."""
        self._stop.set()
        self.wait()
