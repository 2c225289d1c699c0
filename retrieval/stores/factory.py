"""Open the configured backend for a collection; backends are found by name in `STORES`."""

from __future__ import annotations

from citewise.registry import Registry
from citewise.retrieval.stores.base import VectorStore
from citewise.settings import Settings

# A backend's factory takes (settings, dense dimension, collection name); third-party: `citewise.stores`.
STORES: Registry = Registry(
    "index backend",
    "citewise.stores",
    {
        "edge": "citewise.retrieval.stores.edge:EdgeStore.from_settings",
        "qdrant": "citewise.retrieval.stores.qdrant_server:QdrantServerStore.from_settings",
    },
)


def open_store(settings: Settings, dim: int, collection: str | None = None) -> VectorStore:
    return STORES.get(settings.index.backend)(settings, dim, collection or settings.index.collection)


def index_exists(settings: Settings, collection: str) -> bool:
    """Whether `collection` holds an index already (asked without creating it)."""
    factory = STORES.get(settings.index.backend)
    exists = getattr(getattr(factory, "__self__", None), "exists", None)
    return True if exists is None else bool(exists(settings, collection))  # a plugin without it: assume so
