"""Plain permission-filtered search (dense, BM25 or hybrid RRF). The retrieval issue deepens this."""

from __future__ import annotations

from functools import cached_property

from citewise.models import Principal, SearchHit
from citewise.settings import Settings
from retrieval.encoders.dense import DenseEncoder, load_dense_encoder
from retrieval.encoders.sparse import Bm25Encoder
from retrieval.stores import Filter, ScoredPoint, SearchMode, VectorStore, open_store


def principal_filter(principal: Principal) -> Filter:
    """Tenant and ACL conditions: part of every query, never applied after the fact."""
    return Filter(tenant=principal.tenant, acl_any=principal.acl_principals())


def to_hit(point: ScoredPoint) -> SearchHit:
    p = point.payload
    return SearchHit(
        doc_id=p.get("doc_id", ""),
        chunk_id=point.id,
        score=point.score,
        title=p.get("title", ""),
        path=p.get("path", ""),
        page=p.get("page"),
        text=p.get("text", ""),
        char_start=p.get("char_start"),
        char_end=p.get("char_end"),
        section_path=p.get("section_path") or [],
    )


class Searcher:
    def __init__(
        self,
        settings: Settings,
        *,
        collection: str | None = None,
        store: VectorStore | None = None,
        encoder: DenseEncoder | None = None,
    ) -> None:
        self.settings = settings
        self.collection = collection
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

    def run(
        self, query: str, principal: Principal, *, k: int = 10, mode: SearchMode = "hybrid", prefetch_limit: int = 100
    ) -> list[SearchHit]:
        dense = self.encoder.embed_query(query).tolist() if mode in ("dense", "hybrid") else None
        sparse = self.sparse.embed_query(query) if mode in ("sparse", "hybrid") else None
        points = self.store.query(
            mode=mode,
            flt=principal_filter(principal),
            limit=k,
            dense=dense,
            sparse=sparse,
            prefetch_limit=prefetch_limit,
        )
        return [to_hit(p) for p in points]

    def close(self) -> None:
        if "store" in self.__dict__ and self._store is None:
            self.store.close()
