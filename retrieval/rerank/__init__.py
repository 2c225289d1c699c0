"""Rerankers: reorder the fused candidates behind one Protocol (none, fusion, cross-encoder), by name."""

from citewise.retrieval.rerank.base import RERANKERS, Reranker, load_reranker

__all__ = ["RERANKERS", "Reranker", "load_reranker"]
