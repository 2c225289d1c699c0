"""One collection's encoders and vector store, opened on first use: what the ingestor and the retriever share.

`ActiveIndex` holds the collection's live generation (`generations.py`): the store of its physical collection
and the encoder that built it, so a question is always embedded by the encoder its vectors came from. A swap
to a new generation waits for the searches and writes in progress (`use()`), and a process that did not
make the swap notices it on its next `use()` (the generation row is read at most every `REFRESH_S`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property

from citewise.retrieval.encoders.dense import DenseEncoder, load_dense_encoder
from citewise.retrieval.encoders.sparse import Bm25Encoder
from citewise.retrieval.generations import Generation, Generations
from citewise.retrieval.stores import VectorStore, open_store
from citewise.retrieval.stores.base import Filter
from citewise.settings import Settings

log = logging.getLogger(__name__)


class ActiveIndex:
    """The live (store, encoder) pair of a logical collection in this process.

    Injected ones (tests, evals, benches) are fixed: no generation is looked up or recorded for them."""

    REFRESH_S = 1.0

    def __init__(
        self, settings: Settings, collection: str, *, store: VectorStore | None = None,
        encoder: DenseEncoder | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.collection = collection
        self.fixed = store is not None or encoder is not None
        self._store, self._encoder = store, encoder
        self._owned_store = store is None
        self.generation: Generation | None = None
        self._checked = 0.0
        self._cond = threading.Condition()
        self._readers = 0
        self._pinned = threading.local()

    @cached_property
    def generations(self) -> Generations:
        from citewise.db import init_db

        return Generations(init_db(self.settings.db_url))

    def live(self) -> Generation:
        from citewise.retrieval.stores.factory import index_exists

        if self.generation is None:
            known = self.generations.get(self.collection)
            if known is None and index_exists(self.settings, self.collection):
                known = self.generations.live(self.collection, new_encoder="", exists=True, built_by=self._probe())
            self.generation = known or self.generations.live(
                self.collection, new_encoder=self.settings.embedding.backend, exists=False
            )
            self._checked = time.monotonic()
            if self.generation.encoder != self.settings.embedding.backend:
                log.warning(
                    "collection %s was built with the %s encoder; settings ask for %s: it keeps answering with %s "
                    "until `citewise reindex --encoder %s` (or POST /v1/admin/reindex) rebuilds it",
                    self.collection, self.generation.encoder, self.settings.embedding.backend,
                    self.generation.encoder, self.settings.embedding.backend,
                )  # fmt: skip
        return self.generation

    def _probe(self) -> str:
        """Which encoder built a collection from before generations: the one whose vector of a stored chunk's
        text lies closest to the stored vector (the same model: ~0.9, the prefix aside; another: near 0)."""
        from citewise.retrieval.generations import LEGACY_ENCODER

        candidates = list(dict.fromkeys([LEGACY_ENCODER, self.settings.embedding.backend, "e5"]))
        best, best_cos = LEGACY_ENCODER, 0.5
        store: VectorStore | None = None
        loaded: dict[str, DenseEncoder] = {}
        try:
            for name in candidates:
                encoder = loaded[name] = load_dense_encoder(self.settings.embedding, name)
                store = store or open_store(self.settings, encoder.dim, self.collection)
                sample = store.scroll(limit=1)
                if not sample or not sample[0].payload.text:  # nothing to lose: the configured one
                    return self.settings.embedding.backend
                point = sample[0]
                vector = encoder.embed_documents([point.payload.text])[0].tolist()
                cos = store.score([point.id], Filter(), dense=vector).get(point.id, {}).get("dense", 0.0)
                if cos > best_cos:
                    best, best_cos = name, cos
                if cos > 0.8:  # the same model (another one's vectors are unrelated): no need to load the rest
                    break
        finally:
            if store is not None:
                store.close()
        log.info("collection %s predates generations; built by %s (cosine %.2f)", self.collection, best, best_cos)
        self._encoder = self._encoder or loaded.get(best)  # the model is loaded already: keep it
        return best

    @property
    def encoder_name(self) -> str | None:
        return None if self.fixed else self.live().encoder

    @property
    def encoder(self) -> DenseEncoder:
        pinned = getattr(self._pinned, "pair", None)
        if pinned is not None:
            return pinned[1]
        with self._cond:
            if self._encoder is None:
                name = self.encoder_name  # first sight of a collection from before generations may load it (_probe)
                self._encoder = self._encoder or load_dense_encoder(self.settings.embedding, name)
            return self._encoder

    @property
    def store(self) -> VectorStore:
        pinned = getattr(self._pinned, "pair", None)
        if pinned is not None:
            return pinned[0]
        encoder = self.encoder
        with self._cond:
            if self._store is None:
                name = self.collection if self.fixed else self.live().physical
                self._store = open_store(self.settings, encoder.dim, name)
            return self._store

    def _refresh(self) -> None:
        """Follow a swap made by another process (the generation row names another physical collection)."""
        if self.fixed or self.generation is None or time.monotonic() - self._checked < self.REFRESH_S:
            return
        self._checked = time.monotonic()
        now = self.generations.get(self.collection)
        if now is not None and now.physical != self.generation.physical:
            old = self.swap(now, None, None)
            if old is not None:
                old.close()

    @contextmanager
    def use(self) -> Iterator[tuple[VectorStore, DenseEncoder]]:
        """The live pair, pinned for this thread until the block ends; a swap waits for every such block."""
        if getattr(self._pinned, "pair", None) is not None:  # nested: already pinned
            yield self._pinned.pair
            return
        self._refresh()
        with self._cond:  # no wait for a pending swap: a search may fan out to threads that use() too
            self._readers += 1
        try:
            pair = (self.store, self.encoder)
            self._pinned.pair = pair
            yield pair
        finally:
            self._pinned.pair = None
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    def swap(
        self,
        generation: Generation | Callable[[], Generation],
        store: VectorStore | None,
        encoder: DenseEncoder | None,
    ) -> VectorStore | None:
        """Answer from `generation` from now on (its store and encoder, or opened on next use) once the blocks in
        `use()` have ended. A callable generation is the commit itself (the row update), run under the same
        lock, so this process never sees the new row with the old pair. Returns the previous store if this
        object opened it (the caller closes or drops it); None when the swap was followed already."""
        with self._cond:
            self._cond.wait_for(lambda: self._readers == 0)
            if callable(generation):
                generation = generation()
            elif self.generation is not None and generation.physical == self.generation.physical:
                return None
            old = self._store if self._owned_store else None
            self._store, self._encoder, self.generation = store, encoder, generation
            self._owned_store = True
            self._cond.notify_all()
        return old if old is not store else None

    @property
    def opened(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        if self._store is not None and self._owned_store:
            self._store.close()
            self._store = None


class IndexAccess:
    """Light to build; the dense model and the index open once, on first need.

    An injected store or encoder belongs to its caller: `close()` closes only what this object opened.
    Instances built with the same `index` share one live generation (the API's ingestor and retriever).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        collection: str | None = None,
        store: VectorStore | None = None,
        encoder: DenseEncoder | None = None,
        index: ActiveIndex | None = None,
    ) -> None:
        self.settings = settings
        self._owns_index = index is None
        self.index = index or ActiveIndex(
            settings, collection or settings.index.collection, store=store, encoder=encoder
        )
        self.collection = self.index.collection

    @property
    def encoder(self) -> DenseEncoder:
        return self.index.encoder

    @property
    def store(self) -> VectorStore:
        return self.index.store

    @cached_property
    def sparse(self) -> Bm25Encoder:
        return Bm25Encoder(self.settings.sparse)

    def close(self) -> None:
        if self._owns_index:
            self.index.close()
