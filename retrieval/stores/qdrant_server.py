"""qdrant-client backend: a Qdrant server or cluster by URL, or (no URL) its local mode in the data dir.

Local mode speaks the server's API, so this backend is tested offline; it is slow at scale (payload
indexes are ignored there), which is why the embedded default is Qdrant Edge.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

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
    "keyword": models.PayloadSchemaType.KEYWORD,
    "datetime": models.PayloadSchemaType.DATETIME,
    "bool": models.PayloadSchemaType.BOOL,
}


def _scored(p: models.ScoredPoint, scores: dict[str, float]) -> ScoredPoint:
    vector = p.vector.get(DENSE) if isinstance(p.vector, dict) else None
    return ScoredPoint(str(p.id), float(p.score), ChunkPayload.from_store(p.payload), scores, vector)


class QdrantServerStore:
    @classmethod
    def from_settings(cls, settings: Settings, dim: int, collection: str) -> QdrantServerStore:
        """A Qdrant server at `index.url`, or local mode in the data dir when no URL is set."""
        index = settings.index
        return cls(
            collection,
            dim,
            url=index.url,
            api_key=index.api_key.get_secret_value() if index.api_key else None,
            path=None if index.url else settings.data_dir / "index-qdrant",
            timeout_s=index.timeout_s,
            shards=index.shards,
            replication_factor=index.replication_factor,
            on_disk_vectors=index.on_disk_vectors,
        )

    def __init__(
        self,
        collection: str,
        dim: int,
        *,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
        timeout_s: float = 30.0,
        shards: int = 1,
        replication_factor: int = 1,
        on_disk_vectors: bool = False,
    ) -> None:
        """`url` may be https:// (TLS); shards, replication and on-disk vectors apply when the collection is
        created on a server (local mode ignores them)."""
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
            server = {"shard_number": shards, "replication_factor": replication_factor} if url else {}
            self.client.create_collection(
                collection,
                vectors_config={
                    DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE, on_disk=on_disk_vectors)
                },
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                **server,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # local mode warns that payload indexes are ignored
                for name, kind in INDEXED_FIELDS.items():
                    self.client.create_payload_index(collection, name, _SCHEMA[kind])

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
                    payload=p.payload.to_store(),
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

    def set_payload(self, flt: Filter, values: dict) -> None:
        qfilter = to_native_filter(flt, models)
        if qfilter is None:
            raise ValueError("refusing to update every point: give a filter")
        selector = models.FilterSelector(filter=qfilter)
        self.client.set_payload(self.collection, payload=values, points=selector, wait=True)

    def _nearest(self, spec: QuerySpec) -> list[tuple[str, Any, str]]:
        named = []
        if spec.dense is not None:
            named.append(("dense", [float(x) for x in spec.dense], DENSE))
        if spec.sparse is not None and spec.sparse.indices:
            named.append(
                ("sparse", models.SparseVector(indices=spec.sparse.indices, values=spec.sparse.values), SPARSE)
            )
        if spec.mode == "dense":
            return [n for n in named if n[0] == "dense"]
        if spec.mode == "sparse":
            return [n for n in named if n[0] == "sparse"]
        return named

    def query(self, spec: QuerySpec, flt: Filter) -> list[ScoredPoint]:
        qfilter = to_native_filter(flt, models)
        branches = self._nearest(spec)
        if not branches:
            return []
        with_vector = [DENSE] if spec.with_vectors else False
        if spec.mode != "hybrid":
            name, q, using = branches[0]
            result = self.client.query_points(
                self.collection,
                query=q,
                using=using,
                query_filter=qfilter,
                limit=spec.limit,
                with_payload=True,
                with_vectors=with_vector,
            )
            return [_scored(p, {name: float(p.score)}) for p in result.points]
        if spec.fusion == "dbsf":
            fusion: Any = models.FusionQuery(fusion=models.Fusion.DBSF)
        else:
            weights = spec.rrf_weights([name for name, _, _ in branches])
            fusion = models.RrfQuery(rrf=models.Rrf(k=spec.rrf_k, **({"weights": weights} if weights else {})))
        prefetch = [
            models.Prefetch(query=q, using=using, limit=spec.branch_limit(name), filter=qfilter)
            for name, q, using in branches
        ]
        requests = [
            models.QueryRequest(
                prefetch=prefetch,
                query=fusion,
                filter=qfilter,
                limit=spec.limit,
                with_payload=True,
                with_vector=with_vector,
            )
        ] + [
            models.QueryRequest(query=q, using=using, filter=qfilter, limit=spec.branch_limit(name))
            for name, q, using in branches
        ]
        fused, *branch_results = self.client.query_batch_points(self.collection, requests)
        return attach_branch_scores(
            [_scored(p, {}) for p in fused.points],
            [
                (name, [(p.id, p.score) for p in r.points])
                for (name, _, _), r in zip(branches, branch_results, strict=True)
            ],
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
        qfilter = to_native_filter(flt.model_copy(update={"ids": list(ids)}), models)
        named = self._nearest(QuerySpec(mode="hybrid", limit=len(ids), dense=dense, sparse=sparse))
        if not named:
            return {}
        results = self.client.query_batch_points(
            self.collection,
            [models.QueryRequest(query=q, using=using, filter=qfilter, limit=len(ids)) for _, q, using in named],
        )
        return collect_scores(
            [(name, [(p.id, p.score) for p in r.points]) for (name, _, _), r in zip(named, results, strict=True)]
        )

    def count(self, flt: Filter | None = None) -> int:
        return int(self.client.count(self.collection, count_filter=to_native_filter(flt, models), exact=True).count)

    def scroll(self, flt: Filter | None = None, limit: int = 10_000, *, with_payload: bool = True) -> list[ScoredPoint]:
        out: list[ScoredPoint] = []
        offset = None
        while len(out) < limit:
            records, offset = self.client.scroll(
                self.collection,
                scroll_filter=to_native_filter(flt, models),
                limit=min(1000, limit - len(out)),
                offset=offset,
                with_payload=with_payload,
            )
            out.extend(
                ScoredPoint(str(r.id), 0.0, ChunkPayload.from_store(r.payload) if with_payload else ChunkPayload())
                for r in records
            )
            if offset is None or not records:
                break
        return out

    def flush(self) -> None:
        """The server and local mode persist every acknowledged write."""

    @staticmethod
    def exists(settings: Settings, collection: str) -> bool:
        index = settings.index
        if not index.url:
            return (settings.data_dir / "index-qdrant" / "collection" / collection).is_dir()
        api_key = index.api_key.get_secret_value() if index.api_key else None
        client = QdrantClient(url=index.url, api_key=api_key, timeout=int(index.timeout_s))
        try:
            return bool(client.collection_exists(collection))
        finally:
            client.close()

    def drop(self) -> None:
        self.client.delete_collection(self.collection)
        self.close()

    def close(self) -> None:
        self.client.close()
