"""One collection's encoders and vector store, opened on first use: what the ingestor and the retriever share."""

from __future__ import annotations

from functools import cached_property

from citewise.retrieval.encoders.dense import DenseEncoder, load_dense_encoder
from citewise.retrieval.encoders.sparse import Bm25Encoder
from citewise.retrieval.stores import VectorStore, open_store
from citewise.settings import Settings


class IndexAccess:
    """Light to build; the dense model and the index open once, on first need.

    An injected store or encoder belongs to its caller: `close()` closes only what this object opened.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        collection: str | None = None,
        store: VectorStore | None = None,
        encoder: DenseEncoder | None = None,
    ) -> None:
        self.settings = settings
        self.collection = collection or settings.index.collection
        self._store = store
        self._encoder = encoder

    @cached_property
    def encoder(self) -> DenseEncoder:
        return self._encoder or load_dense_encoder(self.settings.embedding)

    @cached_property
    def store(self) -> VectorStore:
        return self._store or open_store(self.settings, self.encoder.dim, self.collection)

    @cached_property
    def sparse(self) -> Bm25Encoder:
        return Bm25Encoder(self.settings.sparse)

    def close(self) -> None:
        if "store" in self.__dict__ and self._store is None:
            self.store.close()
