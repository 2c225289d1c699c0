"""The VectorStore contract shared by every backend (one conformance suite in tests/retrieval)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from citewise.models import ChunkPayload
from citewise.retrieval.encoders.sparse import SparseVector

DENSE = "dense"
SPARSE = "bm25"
# Payload indexes created with every collection (and added to older ones on open): permission fields first.
INDEXED_FIELDS = ChunkPayload.indexed_fields()

SearchMode = Literal["dense", "sparse", "hybrid"]
FusionMethod = Literal["rrf", "dbsf"]
Scalar = str | int | float | bool


class Filter(BaseModel):
    """Conditions every returned point satisfies. `tenant` and `acl_any` carry the caller's permissions."""

    tenant: str | None = None
    acl_any: list[str] | None = None
    match: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, description="payload key == value / in list")
    exclude: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, description="payload key != value / not in")
    prefix: dict[str, str] = Field(default_factory=dict, description="keyword payload key starts with value")
    since: dict[str, datetime] = Field(default_factory=dict, description="datetime payload key >= value")
    ids: list[str] | None = Field(None, description="only these point ids")

    def conditions(self) -> tuple[list[tuple[str, Scalar | list[Scalar]]], list[tuple[str, Scalar | list[Scalar]]]]:
        must: list[tuple[str, Scalar | list[Scalar]]] = []
        if self.tenant is not None:
            must.append(("tenant", self.tenant))
        if self.acl_any is not None:
            must.append(("acl", list(self.acl_any)))
        must.extend(self.match.items())
        return must, list(self.exclude.items())

    def is_empty(self) -> bool:
        must, must_not = self.conditions()
        return not (must or must_not or self.prefix or self.since or self.ids is not None)


def to_native_filter(flt: Filter | None, lib: Any) -> Any:
    """Translate to `lib`'s filter; `qdrant_edge` and `qdrant_client.models` share most class names used here."""
    if flt is None or flt.is_empty():
        return None
    edge = hasattr(lib, "EdgeShard")
    must, must_not = flt.conditions()

    def condition(key: str, value: Scalar | list[Scalar]) -> Any:
        if isinstance(value, list):
            return lib.FieldCondition(key=key, match=lib.MatchAny(any=value))
        return lib.FieldCondition(key=key, match=lib.MatchValue(value=value))

    native_must = [condition(k, v) for k, v in must]
    native_must += [lib.FieldCondition(key=k, match=lib.MatchPrefix(prefix=v)) for k, v in flt.prefix.items()]
    for key, when in flt.since.items():
        rng = lib.RangeDateTime(gte=when.isoformat()) if edge else lib.DatetimeRange(gte=when)
        native_must.append(lib.FieldCondition(key=key, range=rng))
    if flt.ids is not None:
        native_must.append(lib.HasIdCondition(point_ids=set(flt.ids)) if edge else lib.HasIdCondition(has_id=flt.ids))
    return lib.Filter(
        must=native_must or None,
        must_not=[condition(k, v) for k, v in must_not] or None,
    )


@dataclass(slots=True)
class Point:
    id: str
    dense: list[float]
    sparse: SparseVector
    payload: ChunkPayload


@dataclass(slots=True)
class ScoredPoint:
    id: str
    score: float
    payload: ChunkPayload = field(default_factory=ChunkPayload)
    scores: dict[str, float] = field(default_factory=dict, repr=False)  # per stage: dense, sparse, fused, rerank
    vector: list[float] | None = field(default=None, repr=False)  # the dense vector, when asked for


@dataclass(slots=True)
class QuerySpec:
    """One search against a collection; the permission filter travels separately and is always applied."""

    mode: SearchMode
    limit: int
    dense: Sequence[float] | None = None
    sparse: SparseVector | None = None
    fusion: FusionMethod = "rrf"
    rrf_k: int = 60
    dense_limit: int = 100
    sparse_limit: int = 100
    weights: tuple[float, float] | None = None  # RRF weights (dense, sparse); None = equal
    with_vectors: bool = False

    def branch_limit(self, branch: str) -> int:
        return max(self.dense_limit if branch == "dense" else self.sparse_limit, self.limit)

    def rrf_weights(self, branches: Sequence[str]) -> list[float] | None:
        """The RRF weight of each branch that runs, in order; None = equal weights."""
        if self.weights is None:
            return None
        return [self.weights[0] if b == "dense" else self.weights[1] for b in branches]


def attach_branch_scores(
    fused: list[ScoredPoint], branches: Sequence[tuple[str, Sequence[tuple[Any, float]]]]
) -> list[ScoredPoint]:
    """Give each fused point the score every branch run alone gave it (when that branch found it)."""
    by_branch = [(name, {str(pid): float(score) for pid, score in hits}) for name, hits in branches]
    for p in fused:
        p.scores = {name: s[p.id] for name, s in by_branch if p.id in s} | {"fused": p.score}
    return fused


def collect_scores(branches: Sequence[tuple[str, Sequence[tuple[Any, float]]]]) -> dict[str, dict[str, float]]:
    """{point id: {branch: score}} from each branch's (id, score) hits."""
    out: dict[str, dict[str, float]] = {}
    for name, hits in branches:
        for pid, score in hits:
            out.setdefault(str(pid), {})[name] = float(score)
    return out


class VectorStore(Protocol):
    """One collection of chunk points with a dense and a BM25 sparse vector each."""

    def upsert(self, points: Sequence[Point]) -> None: ...

    def delete(self, flt: Filter) -> None: ...

    def set_payload(self, flt: Filter, values: dict) -> None:
        """Set payload keys on every point matching `flt` (never with an empty filter)."""
        ...

    def query(self, spec: QuerySpec, flt: Filter) -> list[ScoredPoint]:
        """Top `spec.limit` points matching `flt`; `scores` holds every branch score the engine reported."""
        ...

    def score(
        self,
        ids: Sequence[str],
        flt: Filter,
        *,
        dense: Sequence[float] | None = None,
        sparse: SparseVector | None = None,
    ) -> dict[str, dict[str, float]]:
        """Exact dense and BM25 scores of the given points within `flt` ({id: {"dense": x, "sparse": y}});
        a point without a matching term has no "sparse" entry."""
        ...

    def count(self, flt: Filter | None = None) -> int: ...

    def scroll(self, flt: Filter | None = None, limit: int = 10_000, *, with_payload: bool = True) -> list[ScoredPoint]:
        """Up to `limit` points matching `flt`; without payload, only their ids (an empty payload)."""
        ...

    def flush(self) -> None: ...

    def drop(self) -> None:
        """Delete the collection with its data, and close."""
        ...

    def close(self) -> None: ...
