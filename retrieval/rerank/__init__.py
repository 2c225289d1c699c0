"""Rerankers: reorder the fused candidates behind one Protocol (none, fusion, cross-encoder)."""

from retrieval.rerank.base import Reranker, load_reranker

__all__ = ["Reranker", "load_reranker"]
