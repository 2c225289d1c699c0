from __future__ import annotations

from citewise.models import ChunkPayload
from citewise.retrieval import shaping
from citewise.retrieval.stores import ScoredPoint


def sp(pid, score, doc="d", text=None, vector=None):
    payload = ChunkPayload(doc_id=doc, text=text if text is not None else f"text {pid}")
    return ScoredPoint(pid, score, payload, {}, vector)


def test_dedup_drops_equal_text_and_near_identical_vectors():
    points = [
        sp("a", 0.9, text="Same   Text", vector=[1.0, 0.0]),
        sp("b", 0.8, text="same text", vector=[0.0, 1.0]),
        sp("c", 0.7, vector=[0.999, 0.01]),
        sp("d", 0.6, vector=[0.6, 0.8]),
    ]
    assert [p.id for p in shaping.dedup(points, 0.98)] == ["a", "d"]
    assert [p.id for p in shaping.dedup(points, 1.0)] == ["a", "c", "d"]


def test_cap_per_doc_keeps_the_best_of_each():
    points = [sp("1", 0.9, "x"), sp("2", 0.8, "x"), sp("3", 0.7, "y"), sp("4", 0.6, "x")]
    assert [p.id for p in shaping.cap_per_doc(points, 2)] == ["1", "2", "3"]
    assert [p.id for p in shaping.cap_per_doc(points, 1)] == ["1", "3"]


def test_mmr_trades_relevance_for_novelty():
    points = [sp("a", 1.0, vector=[1, 0]), sp("a2", 0.95, vector=[0.99, 0.1]), sp("b", 0.5, vector=[0, 1])]
    assert [p.id for p in shaping.mmr(points, 3, 1.0)] == ["a", "a2", "b"]
    assert [p.id for p in shaping.mmr(points, 2, 0.3)] == ["a", "b"]
    assert [p.id for p in shaping.mmr(points[:1], 5, 0.5)] == ["a"]
