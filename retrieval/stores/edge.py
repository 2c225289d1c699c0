"""Qdrant Edge: Qdrant's own engine in-process, data in the data dir. The embedded default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import qdrant_edge as qe

from citewise.errors import IndexLockedError
from citewise.models import ChunkPayload
from citewise.retrieval.encoders.sparse import SparseVector
from citewise.retrieval.stores.base import (
    DENSE,
    INDEXED_FIELDS,
    SPARSE,
    Filter,
    Point,
    QuerySpec,
    ScoredPoint,
    attach_branch_scores,
    collect_scores,
    to_native_filter,
)
from citewise.settings import Settings

_SCHEMA = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "datetime": qe.PayloadSchemaType.Datetime,
    "bool": qe.PayloadSchemaType.Bool,
}


def _scored(p: qe.ScoredPoint, scores: dict[str, float]) -> ScoredPoint:
    vector = p.vector.get(DENSE) if isinstance(p.vector, dict) else None
    return ScoredPoint(str(p.id), float(p.score), ChunkPayload.from_store(p.payload), scores, vector)


class EdgeStore:
    @classmethod
    def from_settings(cls, settings: Settings, dim: int, collection: str) -> EdgeStore:
        return cls(settings.index_path(collection), dim)

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
        except Exception as exc:  # the engine raises a plain error when another process holds the folder
            if "lock" in str(exc).lower() or "in use" in str(exc).lower():
                raise IndexLockedError(
                    f"the index at {self.path} is open in another process (a running `citewise serve` or ingest); "
                    "stop it or send the work to it"
                ) from exc
            raise
        existing = set(self.shard.info().payload_schema)
        for name, kind in INDEXED_FIELDS.items():  # older collections gain indexes added since
            if name not in existing:
                self.shard.update(qe.UpdateOperation.create_field_index(name, _SCHEMA[kind]))

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
                        payload=p.payload.to_store(),
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

    def set_payload(self, flt: Filter, values: dict) -> None:
        edge_filter = to_native_filter(flt, qe)
        if edge_filter is None:
            raise ValueError("refusing to update every point: give a filter")
        self.shard.update(qe.UpdateOperation.set_payload_by_filter(edge_filter, values))

    def _nearest(self, spec: QuerySpec) -> tuple[qe.Query | None, qe.Query | None]:
        dense_q = qe.Query.Nearest([float(x) for x in spec.dense], using=DENSE) if spec.dense is not None else None
        sparse_q = None
        if spec.sparse is not None and spec.sparse.indices:
            sparse_q = qe.Query.Nearest(
                qe.SparseVector(indices=spec.sparse.indices, values=spec.sparse.values), using=SPARSE
            )
        return dense_q, sparse_q

    def query(self, spec: QuerySpec, flt: Filter) -> list[ScoredPoint]:
        native = to_native_filter(flt, qe)
        dense_q, sparse_q = self._nearest(spec)
        with_vector = [DENSE] if spec.with_vectors else None
        if spec.mode != "hybrid":
            q, stage = (dense_q, "dense") if spec.mode == "dense" else (sparse_q, "sparse")
            if q is None:
                return []
            request = qe.QueryRequest(
                limit=spec.limit, query=q, filter=native, with_payload=True, with_vector=with_vector
            )
            return [_scored(p, {stage: float(p.score)}) for p in self.shard.query(request)]
        branches = [(name, q) for name, q in (("dense", dense_q), ("sparse", sparse_q)) if q is not None]
        if not branches:
            return []
        if spec.fusion == "dbsf":
            fusion = qe.Fusion.Dbsf()
        else:
            fusion = qe.Fusion.Rrf(k=spec.rrf_k, weights=spec.rrf_weights([name for name, _ in branches]))
        # One batch: the fused query plus each branch alone, so every hit carries its per-branch scores.
        requests = [
            qe.QueryRequest(
                limit=spec.limit,
                prefetches=[qe.Prefetch(limit=spec.branch_limit(name), query=q, filter=native) for name, q in branches],
                query=fusion,
                filter=native,
                with_payload=True,
                with_vector=with_vector,
            )
        ] + [
            qe.QueryRequest(limit=spec.branch_limit(name), query=q, filter=native, with_payload=False)
            for name, q in branches
        ]
        fused, *branch_results = self.shard.query_batch(qe.QueryBatchRequest(requests))
        return attach_branch_scores(
            [_scored(p, {}) for p in fused],
            [(name, [(p.id, p.score) for p in r]) for (name, _), r in zip(branches, branch_results, strict=True)],
        )

    def score(
        self,
        ids: Sequence[str],
        flt: Filter,
        *,
        dense: Sequence[float] | None = None,
        sparse: SparseVector | None = None,
    ) -> dict[str, dict[str, float]]:
        if not ids:
            return {}
        native = to_native_filter(flt.model_copy(update={"ids": list(ids)}), qe)
        dense_q, sparse_q = self._nearest(QuerySpec(mode="hybrid", limit=len(ids), dense=dense, sparse=sparse))
        named = [(name, q) for name, q in (("dense", dense_q), ("sparse", sparse_q)) if q is not None]
        if not named:
            return {}
        results = self.shard.query_batch(
            qe.QueryBatchRequest([qe.QueryRequest(limit=len(ids), query=q, filter=native) for _, q in named])
        )
        return collect_scores(
            [(name, [(p.id, p.score) for p in r]) for (name, _), r in zip(named, results, strict=True)]
        )

    def count(self, flt: Filter | None = None) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=to_native_filter(flt, qe))))

    def scroll(self, flt: Filter | None = None, limit: int = 10_000, *, with_payload: bool = True) -> list[ScoredPoint]:
        out: list[ScoredPoint] = []
        offset = None
        while len(out) < limit:
            records, offset = self.shard.scroll(
                qe.ScrollRequest(
                    offset=offset,
                    limit=min(1000, limit - len(out)),
                    filter=to_native_filter(flt, qe),
                    with_payload=with_payload,
                )
            )
            out.extend(
                ScoredPoint(str(r.id), 0.0, ChunkPayload.from_store(r.payload) if with_payload else ChunkPayload())
                for r in records
            )
            if offset is None or not records:
                break
        return out

    def flush(self) -> None:
        self.shard.flush()

    @staticmethod
    def exists(settings: Settings, collection: str) -> bool:
        return (settings.index_path(collection) / "edge_config.json").is_file()

    def drop(self) -> None:
        import shutil

        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def close(self) -> None:
        if getattr(self, "shard", None) is not None:
            self.shard.flush()
            self.shard.close()
            self.shard = None
