"""Result shaping after ranking: near-duplicate removal, a per-document cap and optional MMR diversity.

Pure functions over ranked candidates (best first), so each is tested on its own.
"""

from __future__ import annotations

import re

import numpy as np

from citewise.retrieval.stores.base import ScoredPoint

_SPACE = re.compile(r"\s+")


def _norm_text(point: ScoredPoint) -> str:
    return _SPACE.sub(" ", point.payload.text).strip().lower()


def _unit(vectors: list[list[float]]) -> np.ndarray:
    m = np.asarray(vectors, dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def dedup(points: list[ScoredPoint], threshold: float = 0.98) -> list[ScoredPoint]:
    """Drop a chunk whose text equals, or whose dense vector is within `threshold` cosine of, a better one."""
    with_vec = [i for i, p in enumerate(points) if p.vector is not None]
    sims = None
    if len(with_vec) > 1:
        unit = _unit([points[i].vector for i in with_vec])  # type: ignore[misc]
        sims = unit @ unit.T  # one matrix product instead of one per candidate
    row = {i: r for r, i in enumerate(with_vec)}
    kept: list[ScoredPoint] = []
    kept_rows: list[int] = []
    seen_text: set[str] = set()
    for i, p in enumerate(points):
        text = _norm_text(p)
        if text in seen_text:
            continue
        if sims is not None and i in row:
            if kept_rows and float(sims[row[i], kept_rows].max()) >= threshold:
                continue
            kept_rows.append(row[i])
        seen_text.add(text)
        kept.append(p)
    return kept


def cap_per_doc(points: list[ScoredPoint], max_per_doc: int) -> list[ScoredPoint]:
    counts: dict[str, int] = {}
    out = []
    for p in points:
        doc = p.payload.doc_id or p.id
        if counts.get(doc, 0) < max_per_doc:
            counts[doc] = counts.get(doc, 0) + 1
            out.append(p)
    return out


def mmr(points: list[ScoredPoint], k: int, lambda_: float) -> list[ScoredPoint]:
    """Maximal marginal relevance on the current scores (min-max scaled) and the chunks' dense vectors.

    `lambda_` = 1 keeps the relevance order; lower values trade relevance for novelty.
    Points without a vector keep their relevance-only position.
    """
    if len(points) <= 1 or any(p.vector is None for p in points):
        return points[:k]
    vecs = _unit([p.vector for p in points])  # type: ignore[misc]
    rel = np.array([p.score for p in points], dtype=np.float64)
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones_like(rel)
    sims = vecs @ vecs.T
    chosen: list[int] = []
    rest = list(range(len(points)))
    while rest and len(chosen) < k:
        if chosen:
            redundancy = sims[np.ix_(rest, chosen)].max(axis=1)
        else:
            redundancy = np.zeros(len(rest))
        value = lambda_ * rel[rest] - (1 - lambda_) * redundancy
        best = rest[int(np.argmax(value))]
        chosen.append(best)
        rest.remove(best)
    return [points[i] for i in chosen]
