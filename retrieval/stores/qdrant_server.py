"""qdrant-client backend: a Qdrant server or cluster by URL, or (no URL) its local mode in the data dir.

Local mode speaks the server's API, so this backend is tested offline; it is slow at scale (payload
indexes are ignored there), which is why the embedded default is Qdrant Edge.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from qdrant_client import QdrantClient, models

from citewise.errors import IndexLockedError
from retrieval.encoders.sparse import SparseVector
from retrieval.stores.base import (
    DENSE,
    INDEXED_FIELDS,
    SPARSE,
    Filter,
    Point,
    ScoredPoint,
    SearchMode,
    to_native_filter,
)


class QdrantServerStore:
    def __init__(
        self,
        collection: str,
        dim: int,
        *,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.collection = collection
        self.dim = dim
        try:
            if url:
                self.client = QdrantClient(url=url, api_key=api_key, timeout=int(timeout_s))
            else:
                self.client = QdrantClient(path=str(path) if path else ":memory:")
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise IndexLockedError(f"the index at {path} is open in another process; stop it first") from exc
            raise
        if not self.client.collection_exists(collection):
            self.client.create_collection(
                collection,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # local mode warns that payload indexes are ignored
                for name in INDEXED_FIELDS:
                    self.client.create_payload_index(collection, name, models.PayloadSchemaType.KEYWORD)

    def upsert(self, points: Sequence[Point]) -> None:
        if not points:
            return
        self.client.upsert(
            self.collection,
            points=[
                models.PointStruct(
                    id=p.id,
                    vector={
                        DENSE: [float(x) for x in p.dense],
                        SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                    },
                    payload=p.payload,
                )
                for p in points
            ],
            wait=True,
        )

    def delete(self, flt: Filter) -> None:
        qfilter = to_native_filter(flt, models)
        if qfilter is None:
            raise ValueError("refusing to delete with an empty filter")
        self.client.delete(self.collection, points_selector=models.FilterSelector(filter=qfilter), wait=True)

    def query(
        self,
        *,
        mode: SearchMode,
        flt: Filter,
        limit: int,
        dense: Sequence[float] | None = None,
        sparse: SparseVector | None = None,
        prefetch_limit: int = 100,
    ) -> list[ScoredPoint]:
        qfilter = to_native_filter(flt, models)
        dense_q = [float(x) for x in dense] if dense is not None else None
        sparse_q = (
            models.SparseVector(indices=sparse.indices, values=sparse.values)
            if sparse is not None and sparse.indices
            else None
        )
        if mode == "hybrid":
            prefetch = [
                models.Prefetch(query=q, using=using, limit=max(prefetch_limit, limit), filter=qfilter)
                for q, using in ((dense_q, DENSE), (sparse_q, SPARSE))
                if q is not None
            ]
            if not prefetch:
                return []
            result = self.client.query_points(
                self.collection,
                prefetch=prefetch,
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                query_filter=qfilter,
                limit=limit,
                with_payload=True,
            )
        else:
            q, using = (dense_q, DENSE) if mode == "dense" else (sparse_q, SPARSE)
            if q is None:
                return []
            result = self.client.query_points(
                self.collection, query=q, using=using, query_filter=qfilter, limit=limit, with_payload=True
            )
        return [ScoredPoint(str(p.id), float(p.score), dict(p.payload or {})) for p in result.points]

    def count(self, flt: Filter | None = None) -> int:
        return int(self.client.count(self.collection, count_filter=to_native_filter(flt, models), exact=True).count)

    def scroll(self, flt: Filter | None = None, limit: int = 10_000) -> list[ScoredPoint]:
        out: list[ScoredPoint] = []
        offset = None
        while len(out) < limit:
            records, offset = self.client.scroll(
                self.collection,
                scroll_filter=to_native_filter(flt, models),
                limit=min(1000, limit - len(out)),
                offset=offset,
                with_payload=True,
            )
            out.extend(ScoredPoint(str(r.id), 0.0, dict(r.payload or {})) for r in records)
            if offset is None or not records:
                break
        return out

    def flush(self) -> None:
        """The server and local mode persist every acknowledged write."""

    def close(self) -> None:
        self.client.close()
