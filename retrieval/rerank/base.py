"""The Reranker contract and the one place that maps a reranker name to its class."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from citewise.errors import ConfigError
from citewise.settings import RetrievalSettings
from retrieval.stores import ScoredPoint

RERANKERS = ("none", "fusion", "cross-encoder")


@runtime_checkable
class Reranker(Protocol):
    """Reorders candidates, writing its score to `scores["rerank"]` and `score`.

    Every candidate arrives with its exact "dense" and (when a query term matches) "sparse" scores.
    """

    name: str

    def run(self, query: str, candidates: list[ScoredPoint]) -> list[ScoredPoint]: ...


class NoReranker:
    name = "none"

    def run(self, query: str, candidates: list[ScoredPoint]) -> list[ScoredPoint]:
        return candidates


def load_reranker(name: str, settings: RetrievalSettings) -> Reranker:
    if name == "none":
        return NoReranker()
    if name == "fusion":
        from retrieval.rerank.fusion import FusionReranker

        return FusionReranker(alpha=settings.fusion_alpha)
    if name == "cross-encoder":
        from retrieval.rerank.cross_encoder import CrossEncoderReranker

        if not settings.cross_encoder_model:
            raise ConfigError(
                "the cross-encoder reranker needs a model: set CITEWISE_RETRIEVAL__CROSS_ENCODER_MODEL to a local "
                "folder holding a sentence-transformers CrossEncoder (e.g. ms-marco-MiniLM-L-6-v2)"
            )
        return CrossEncoderReranker(settings.cross_encoder_model, batch_size=settings.cross_encoder_batch_size)
    raise ConfigError(f"unknown reranker {name!r}; choose one of {', '.join(RERANKERS)}")
