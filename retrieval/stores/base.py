"""The VectorStore contract shared by every backend (one conformance suite in tests/retrieval)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from retrieval.encoders.sparse import SparseVector

DENSE = "dense"
SPARSE = "bm25"
INDEXED_FIELDS = ("tenant", "acl", "doc_id", "source")

SearchMode = Literal["dense", "sparse", "hybrid"]
Scalar = str | int | float | bool


class Filter(BaseModel):
    """Conditions every returned point satisfies. `tenant` and `acl_any` carry the caller's permissions."""

    tenant: str | None = None
    acl_any: list[str] | None = None
    match: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, description="payload key == value / in list")
    exclude: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, description="payload key != value / not in")

    def conditions(self) -> tuple[list[tuple[str, Scalar | list[Scalar]]], list[tuple[str, Scalar | list[Scalar]]]]:
        must: list[tuple[str, Scalar | list[Scalar]]] = []
        if self.tenant is not None:
            must.append(("tenant", self.tenant))
        if self.acl_any is not None:
            must.append(("acl", list(self.acl_any)))
        must.extend(self.match.items())
        return must, list(self.exclude.items())


def to_native_filter(flt: Filter | None, lib: Any) -> Any:
    """Translate to `lib`'s filter; `qdrant_edge` and `qdrant_client.models` share the class names used here."""
    if flt is None:
        return None
    must, must_not = flt.conditions()
    if not must and not must_not:
        return None

    def condition(key: str, value: Scalar | list[Scalar]) -> Any:
        if isinstance(value, list):
            return lib.FieldCondition(key=key, match=lib.MatchAny(any=value))
        return lib.FieldCondition(key=key, match=lib.MatchValue(value=value))

    return lib.Filter(
        must=[condition(k, v) for k, v in must] or None,
        must_not=[condition(k, v) for k, v in must_not] or None,
    )


@dataclass(slots=True)
class Point:
    id: str
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass(slots=True)
class ScoredPoint:
    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)


class VectorStore(Protocol):
    """One collection of chunk points with a dense and a BM25 sparse vector each."""

    def upsert(self, points: Sequence[Point]) -> None: ...

    def delete(self, flt: Filter) -> None: ...

    def query(
        self,
        *,
        mode: SearchMode,
        flt: Filter,
        limit: int,
        dense: Sequence[float] | None = None,
        sparse: SparseVector | None = None,
        prefetch_limit: int = 100,
    ) -> list[ScoredPoint]: ...

    def count(self, flt: Filter | None = None) -> int: ...

    def scroll(self, flt: Filter | None = None, limit: int = 10_000) -> list[ScoredPoint]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
