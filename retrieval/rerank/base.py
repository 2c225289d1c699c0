"""The Reranker contract and the registry that maps a reranker name to its factory."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from citewise.registry import Registry
from citewise.retrieval.stores.base import ScoredPoint
from citewise.settings import RetrievalSettings


@runtime_checkable
class Reranker(Protocol):
    """Reorders candidates, writing its score to `scores["rerank"]` and `score`.

    Every candidate arrives with its exact "dense" and (when a query term matches) "sparse" scores;
    `language` is the query's when detection was sure of it (a candidate's is `payload.language`).
    """

    name: str

    def run(self, query: str, candidates: list[ScoredPoint], *, language: str | None = None) -> list[ScoredPoint]: ...


class NoReranker:
    name = "none"

    @classmethod
    def from_settings(cls, settings: RetrievalSettings) -> NoReranker:
        return cls()

    def run(self, query: str, candidates: list[ScoredPoint], *, language: str | None = None) -> list[ScoredPoint]:
        return candidates


RERANKERS: Registry = Registry(
    "reranker",
    "citewise.rerankers",
    {
        "none": "citewise.retrieval.rerank.base:NoReranker.from_settings",
        "fusion": "citewise.retrieval.rerank.fusion:FusionReranker.from_settings",
        "cross-encoder": "citewise.retrieval.rerank.cross_encoder:CrossEncoderReranker.from_settings",
    },
)


def load_reranker(name: str, settings: RetrievalSettings) -> Reranker:
    """A reranker by name; its factory takes the retrieval settings (third-party: `citewise.rerankers`)."""
    return RERANKERS.get(name)(settings)
