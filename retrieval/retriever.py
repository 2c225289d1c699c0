"""The retrieval service: one typed entry point from a question and a principal to ranked, shaped hits.

Stages: encode -> Qdrant query (dense, BM25 or both fused in the engine) -> exact branch scores for every
candidate -> rerank -> de-duplicate, cap per document, optional MMR -> top k -> optional neighbour chunks.
The caller's tenant and ACL are part of the one filter every stage queries with; no call path skips it.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
)

from citewise.models import ChunkPayload, ContextChunk, IsoDateTime, Number, Principal, SearchHit
from citewise.retrieval import shaping
from citewise.retrieval.encoders.dense import DenseEncoder
from citewise.retrieval.encoders.sparse import SparseVector
from citewise.retrieval.index import ActiveIndex, IndexAccess
from citewise.retrieval.query_cache import QueryVectorCache
from citewise.retrieval.query_variants import rule_variants
from citewise.retrieval.rerank.base import Reranker, load_reranker
from citewise.retrieval.stores.base import Filter, FusionMethod, QuerySpec, ScoredPoint, SearchMode, VectorStore
from citewise.settings import Settings

RESERVED_KEYS = frozenset({"tenant", "acl", "status"})  # from the caller's identity, or the index's own
FILTER_KEYS = frozenset(ChunkPayload.model_fields) - RESERVED_KEYS - {"meta"}
_META_KEY = re.compile(r"meta\.[A-Za-z0-9_-]{1,64}")
Text = Annotated[StrictStr, StringConstraints(max_length=1000)]
# What a match can compare with: Qdrant matches keywords, integers and booleans (never floats).
Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
FilterValue = Annotated[StrictBool | Int64 | Text, Field(union_mode="left_to_right")]  # 1 is no True, "1" no 1
FilterValues = FilterValue | Annotated[list[FilterValue], Field(min_length=1, max_length=100)]


class SearchFilters(BaseModel):
    """Metadata filters a caller may add; they narrow results and can never widen permissions.

    `match` / `exclude` keys are chunk payload fields (doc_id, source, path, title, page, chunk_index, ...)
    or `meta.NAME` for a connector's metadata; tenant and acl come from the caller's identity.
    """

    model_config = ConfigDict(extra="forbid")

    sources: list[Text] | None = Field(None, description="connector source ids", max_length=100)
    doc_ids: list[Text] | None = Field(None, max_length=100)
    path_prefix: Text | None = Field(None, description="uri/path starts with this")
    modified_after: IsoDateTime | None = None
    match: dict[str, FilterValues] = Field(default_factory=dict, description="payload key == value / in list")
    exclude: dict[str, FilterValues] = Field(default_factory=dict, description="payload key != value / not in")

    @field_validator("match", "exclude")
    @classmethod
    def _known_keys(cls, value: dict[str, FilterValues]) -> dict[str, FilterValues]:
        bad = RESERVED_KEYS & set(value)
        if bad:
            raise ValueError(f"{', '.join(sorted(bad))} cannot be filtered on: it comes from the caller's identity")
        unknown = sorted(k for k in value if k not in FILTER_KEYS and not _META_KEY.fullmatch(k))
        if unknown:
            raise ValueError(
                f"unknown filter key {unknown[0]!r}; use one of {', '.join(sorted(FILTER_KEYS))} or meta.NAME"
            )
        return value

    @field_validator("modified_after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """A date without a zone is read as UTC (stored dates are UTC)."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class RetrievalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=8000)
    principal: Principal
    filters: SearchFilters = Field(default_factory=SearchFilters)
    k: int = Field(10, ge=1, le=200)
    mode: SearchMode | None = Field(None, description="default from settings (hybrid)")
    fusion: FusionMethod | None = Field(None, description="hybrid fusion in the engine: rrf | dbsf")
    reranker: str | None = Field(None, description="none | fusion | cross-encoder; default from settings")
    max_per_doc: int | None = Field(None, ge=1)
    mmr_lambda: Number | None = Field(None, ge=0, le=1)
    neighbours: int | None = Field(None, ge=0, le=5)
    multi_query: Literal["off", "rules"] | None = Field(
        None, description="also retrieve rule-based variants of the query and fuse them (default from settings)"
    )
    variants: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=5, description="more wordings of the query to retrieve and fuse"
    )


class RetrievalResult(BaseModel):
    hits: list[SearchHit]
    mode: SearchMode
    reranker: str
    timings_ms: dict[str, float]


def permission_filter(principal: Principal) -> Filter:
    """Tenant and ACL conditions, and no half-written document: part of every query, never applied after."""
    return Filter(tenant=principal.tenant, acl_any=principal.acl_principals(), exclude={"status": "pending"})


def build_filter(principal: Principal, filters: SearchFilters) -> Filter:
    flt = permission_filter(principal)
    match = dict(filters.match)
    if filters.sources is not None:
        match["source"] = list(filters.sources)
    if filters.doc_ids is not None:
        match["doc_id"] = list(filters.doc_ids)
    flt.match = match
    flt.exclude = {**flt.exclude, **filters.exclude}
    if filters.path_prefix:
        flt.prefix = {"path": filters.path_prefix}
    if filters.modified_after is not None:
        flt.since = {"modified_at": filters.modified_after}
    return flt


def to_hit(point: ScoredPoint) -> SearchHit:
    p = point.payload
    return SearchHit(
        doc_id=p.doc_id,
        chunk_id=point.id,
        score=point.score,
        scores=dict(point.scores),
        title=p.title,
        path=p.path,
        source=p.source,
        key=p.key,
        page=p.page,
        chunk_index=p.chunk_index,
        text=p.text,
        char_start=p.char_start,
        char_end=p.char_end,
        section_path=p.section_path,
        modified_at=p.modified_at,
        language=p.language,
    )


class Retriever(IndexAccess):
    """Light constructor; the encoder, store and rerankers load once, on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        collection: str | None = None,
        store: VectorStore | None = None,
        encoder: DenseEncoder | None = None,
        rerankers: dict[str, Reranker] | None = None,
        index: ActiveIndex | None = None,
    ) -> None:
        super().__init__(settings, collection=collection, store=store, encoder=encoder, index=index)
        self._rerankers: dict[str, Reranker] = dict(rerankers or {})
        self.query_vectors = QueryVectorCache(settings.cache.query_embeddings)

    def reranker(self, name: str) -> Reranker:
        if name not in self._rerankers:
            self._rerankers[name] = load_reranker(name, self.settings.retrieval)
        return self._rerankers[name]

    def query_vector(self, text: str) -> np.ndarray:
        """The dense query vector, from the cache when this encoder has embedded the same text before."""
        encoder = self.encoder
        return self.query_vectors.get(f"{encoder.model_id}\x1f{text}", lambda _: encoder.embed_query(text))

    def run(self, request: RetrievalRequest) -> RetrievalResult:
        with self.index.use():  # the store and the encoder of one generation for the whole search
            return self._run(request)

    def _run(self, request: RetrievalRequest) -> RetrievalResult:
        cfg = self.settings.retrieval
        variants = list(request.variants)
        if (request.multi_query or cfg.multi_query) == "rules":
            variants += rule_variants(request.query)
        if variants:
            return self._multi(request, variants)
        mode: SearchMode = request.mode or cfg.mode
        reranker = self.reranker(request.reranker or cfg.reranker)
        mmr_lambda = request.mmr_lambda if request.mmr_lambda is not None else cfg.mmr_lambda
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = round((now - clock) * 1000, 3)
            clock = now

        # Both query vectors, whatever the mode: every hit carries both branch scores, which the fusion
        # reranker and the chat's evidence check (dense cosine) rely on. The dense one costs ~3 ms.
        dense = self.query_vector(request.query).tolist()
        language, sure = self.sparse.detect_query(request.query)
        sparse = self.sparse.embed_query(request.query, language)
        lap("embed")

        flt = build_filter(request.principal, request.filters)
        spec = QuerySpec(
            mode=mode,
            limit=max(cfg.candidates, request.k * 3),  # shaping drops some; rerank sees the top N
            dense=dense,
            sparse=sparse,
            fusion=request.fusion or cfg.fusion,
            rrf_k=cfg.rrf_k,
            dense_limit=cfg.dense_limit,
            sparse_limit=cfg.sparse_limit,
            weights=None if cfg.dense_weight == cfg.sparse_weight else (cfg.dense_weight, cfg.sparse_weight),
            with_vectors=True,  # for near-duplicate detection and MMR
        )
        candidates = self.store.query(spec, flt)
        lap("search")

        self._fill_branch_scores(candidates, flt, dense, sparse)
        lap("branch_scores")
        candidates = reranker.run(request.query, candidates, language=language if sure else None)
        lap("rerank")

        shaped = shaping.dedup(candidates, cfg.dedup_threshold)
        shaped = shaping.cap_per_doc(shaped, request.max_per_doc or cfg.max_per_doc)
        shaped = shaping.mmr(shaped, request.k, mmr_lambda) if mmr_lambda is not None else shaped[: request.k]
        hits = [to_hit(p) for p in shaped]
        neighbours = request.neighbours if request.neighbours is not None else cfg.neighbours
        if neighbours and hits:
            self._attach_neighbours(hits, flt, neighbours)
        lap("shape")
        timings["total"] = round(sum(timings.values()), 3)
        return RetrievalResult(hits=hits, mode=mode, reranker=reranker.name, timings_ms=timings)

    def _multi(self, request: RetrievalRequest, variants: list[str]) -> RetrievalResult:
        """The question and each variant retrieved whole (rerank and shaping included), in parallel, and
        the result lists fused by reciprocal rank (as RAG-Fusion does). A hit keeps the scores of the first
        list it appears in, the question's own when it found it."""
        started = time.perf_counter()
        depth = min(200, max(2 * request.k, 20))
        single = request.model_copy(update={"variants": [], "multi_query": "off", "k": depth})
        wordings = [request.query, *variants]
        with ThreadPoolExecutor(max_workers=min(4, len(wordings))) as pool:
            results = list(pool.map(lambda q: self.run(single.model_copy(update={"query": q})), wordings))
        fused: dict[str, float] = {}
        first: dict[str, SearchHit] = {}
        for result in results:
            for rank, hit in enumerate(result.hits):
                fused[hit.chunk_id] = fused.get(hit.chunk_id, 0.0) + 1.0 / (self.settings.retrieval.rrf_k + rank + 1)
                first.setdefault(hit.chunk_id, hit)
        per_doc, cap, hits = {}, request.max_per_doc or self.settings.retrieval.max_per_doc, []
        for chunk_id in sorted(fused, key=fused.__getitem__, reverse=True):
            hit = first[chunk_id]
            if per_doc.get(hit.doc_id, 0) >= cap:
                continue
            per_doc[hit.doc_id] = per_doc.get(hit.doc_id, 0) + 1
            hits.append(
                hit.model_copy(
                    update={
                        "score": fused[chunk_id],
                        "scores": {**hit.scores, "multi_query": round(fused[chunk_id], 6)},
                    }
                )
            )
            if len(hits) == request.k:
                break
        timings = {"variants": float(len(variants)), "total": round((time.perf_counter() - started) * 1000, 3)}
        return RetrievalResult(hits=hits, mode=results[0].mode, reranker=results[0].reranker, timings_ms=timings)

    def _fill_branch_scores(
        self, candidates: list[ScoredPoint], flt: Filter, dense: list[float], sparse: SparseVector
    ) -> None:
        """Every candidate gets its exact dense (and BM25, when any term matches) score."""
        missing_dense = [c.id for c in candidates if "dense" not in c.scores]
        missing_sparse = [c.id for c in candidates if sparse.indices and "sparse" not in c.scores]
        ids = sorted(set(missing_dense) | set(missing_sparse))
        if not ids:
            return
        exact = self.store.score(
            ids,
            flt,
            dense=dense if missing_dense else None,
            sparse=sparse if missing_sparse else None,
        )
        for c in candidates:
            for branch, value in exact.get(c.id, {}).items():
                c.scores.setdefault(branch, value)

    def _attach_neighbours(self, hits: list[SearchHit], flt: Filter, n: int) -> None:
        """Chunks around each hit in its document, read with the same permission filter."""
        wanted = {
            (h.doc_id, i)
            for h in hits
            if h.chunk_index is not None
            for i in range(h.chunk_index - n, h.chunk_index + n + 1)
        }
        if not wanted:
            return
        scope = flt.model_copy(
            update={
                "match": {
                    **flt.match,
                    "doc_id": sorted({d for d, _ in wanted}),
                    "chunk_index": sorted({i for _, i in wanted if i >= 0}),
                }
            }
        )
        by_key = {}
        superset = len(scope.match["doc_id"]) * len(scope.match["chunk_index"])  # docs x indices asked for
        for p in self.store.scroll(scope, limit=superset):
            key = (p.payload.doc_id, p.payload.chunk_index)
            if key in wanted and p.payload.chunk_index is not None:
                by_key[key] = ContextChunk(
                    chunk_id=p.id,
                    chunk_index=p.payload.chunk_index,
                    text=p.payload.text,
                    char_start=p.payload.char_start,
                    char_end=p.payload.char_end,
                )
        for h in hits:
            if h.chunk_index is None:
                continue
            h.context_before = [
                by_key[(h.doc_id, i)] for i in range(h.chunk_index - n, h.chunk_index) if (h.doc_id, i) in by_key
            ]
            h.context_after = [
                by_key[(h.doc_id, i)]
                for i in range(h.chunk_index + 1, h.chunk_index + n + 1)
                if (h.doc_id, i) in by_key
            ]
