"""Open the configured backend for a collection."""

from __future__ import annotations

from citewise.settings import Settings
from retrieval.stores.base import VectorStore


def open_store(settings: Settings, dim: int, collection: str | None = None) -> VectorStore:
    name = collection or settings.index.collection
    if settings.index.backend == "edge":
        from retrieval.stores.edge import EdgeStore

        return EdgeStore(settings.index_path(name), dim)
    from retrieval.stores.qdrant_server import QdrantServerStore

    key = settings.index.api_key.get_secret_value() if settings.index.api_key else None
    return QdrantServerStore(
        name,
        dim,
        url=settings.index.url,
        api_key=key,
        path=None if settings.index.url else settings.data_dir / "index-qdrant",
        timeout_s=settings.index.timeout_s,
        shards=settings.index.shards,
        replication_factor=settings.index.replication_factor,
        on_disk_vectors=settings.index.on_disk_vectors,
    )
