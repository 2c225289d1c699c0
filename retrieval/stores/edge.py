"""Qdrant Edge: Qdrant's own engine in-process, data in the data dir. The embedded default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

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


class EdgeStore:
    def __init__(self, path: Path, dim: int) -> None:
        self.path = Path(path)
        self.dim = dim
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        try:
            if (self.path / "edge_config.json").is_file():
                self.shard = qe.EdgeShard.load(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self.shard = qe.EdgeShard.create(str(self.path), config)
                for name in INDEXED_FIELDS:
                    self.shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        except Exception as exc:  # the engine raises a plain error when another process holds the folder
            if "lock" in str(exc).lower() or "in use" in str(exc).lower():
                raise IndexLockedError(
                    f"the index at {self.path} is open in another process (a running `citewise serve` or ingest); "
                    "stop it or send the work to it"
                ) from exc
            raise

    def upsert(self, points: Sequence[Point]) -> None:
        if not points:
            return
        self.shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(
                        id=p.id,
                        vector={
                            DENSE: [float(x) for x in p.dense],
                            SPARSE: qe.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                        },
                        payload=p.payload,
                    )
                    for p in points
                ]
            )
        )

    def delete(self, flt: Filter) -> None:
        edge_filter = to_native_filter(flt, qe)
        if edge_filter is None:
            raise ValueError("refusing to delete with an empty filter")
        self.shard.update(qe.UpdateOperation.delete_points_by_filter(edge_filter))

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
        edge_filter = to_native_filter(flt, qe)
        dense_q = qe.Query.Nearest([float(x) for x in dense], using=DENSE) if dense is not None else None
        sparse_q = (
            qe.Query.Nearest(qe.SparseVector(indices=sparse.indices, values=sparse.values), using=SPARSE)
            if sparse is not None and sparse.indices
            else None
        )
        if mode == "hybrid":
            prefetches = [
                qe.Prefetch(limit=max(prefetch_limit, limit), query=q, filter=edge_filter)
                for q in (dense_q, sparse_q)
                if q is not None
            ]
            if not prefetches:
                return []
            request = qe.QueryRequest(
                limit=limit, prefetches=prefetches, query=qe.Fusion.Rrf(k=60), filter=edge_filter, with_payload=True
            )
        else:
            q = dense_q if mode == "dense" else sparse_q
            if q is None:
                return []
            request = qe.QueryRequest(limit=limit, query=q, filter=edge_filter, with_payload=True)
        return [ScoredPoint(str(p.id), float(p.score), dict(p.payload or {})) for p in self.shard.query(request)]

    def count(self, flt: Filter | None = None) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=to_native_filter(flt, qe))))

    def scroll(self, flt: Filter | None = None, limit: int = 10_000) -> list[ScoredPoint]:
        out: list[ScoredPoint] = []
        offset = None
        while len(out) < limit:
            records, offset = self.shard.scroll(
                qe.ScrollRequest(
                    offset=offset,
                    limit=min(1000, limit - len(out)),
                    filter=to_native_filter(flt, qe),
                    with_payload=True,
                )
            )
            out.extend(ScoredPoint(str(r.id), 0.0, dict(r.payload or {})) for r in records)
            if offset is None or not records:
                break
        return out

    def flush(self) -> None:
        self.shard.flush()

    def close(self) -> None:
        if getattr(self, "shard", None) is not None:
            self.shard.flush()
            self.shard.close()
            self.shard = None
