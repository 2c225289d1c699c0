"""Vector-store backends behind one Protocol: Qdrant Edge (embedded default) and qdrant-client."""

from citewise.retrieval.stores.base import (
    DENSE,
    SPARSE,
    Filter,
    FusionMethod,
    Point,
    QuerySpec,
    ScoredPoint,
    SearchMode,
    VectorStore,
)
from citewise.retrieval.stores.factory import open_store

__all__ = [
    "DENSE",
    "SPARSE",
    "Filter",
    "FusionMethod",
    "Point",
    "QuerySpec",
    "ScoredPoint",
    "SearchMode",
    "VectorStore",
    "open_store",
]
