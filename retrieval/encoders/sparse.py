"""BM25 sparse vectors computed on the client, so every backend indexes exactly the same thing.

Documents get BM25's saturated term frequency; queries get 1 per distinct term. IDF is left to Qdrant
(sparse vector `modifier=IDF`), which keeps it right as the collection grows without re-encoding.
Term ids are CRC32 of the stemmed term (stable across processes and versions).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

import Stemmer

from citewise.settings import SparseSettings

TOKEN_RE = re.compile(r"\w+", re.UNICODE)

# English function words (the classic Snowball list, trimmed): too common to help ranking.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with you your yours yourself
    yourselves""".split()
)


@dataclass(slots=True)
class SparseVector:
    indices: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


class Bm25Encoder:
    def __init__(self, settings: SparseSettings | None = None) -> None:
        self.settings = settings or SparseSettings()
        self._stemmer = Stemmer.Stemmer(self.settings.language)
        self._cache: dict[str, int] = {}

    def terms(self, text: str) -> list[str]:
        words = [w for w in TOKEN_RE.findall(text.lower()) if w not in STOPWORDS and len(w) < 40]
        return self._stemmer.stemWords(words)

    def _term_id(self, term: str) -> int:
        tid = self._cache.get(term)
        if tid is None:
            tid = zlib.crc32(term.encode("utf-8"))
            if len(self._cache) < 500_000:
                self._cache[term] = tid
        return tid

    def _merge(self, weights: dict[int, float]) -> SparseVector:
        items = sorted(weights.items())
        return SparseVector([i for i, _ in items], [v for _, v in items])

    def embed_document(self, text: str) -> SparseVector:
        terms = self.terms(text)
        if not terms:
            return SparseVector()
        k1, b = self.settings.k1, self.settings.b
        norm = k1 * (1 - b + b * len(terms) / self.settings.avg_doc_tokens)
        weights: dict[int, float] = {}
        for term, tf in Counter(terms).items():
            tid = self._term_id(term)
            weights[tid] = weights.get(tid, 0.0) + tf * (k1 + 1) / (tf + norm)
        return self._merge(weights)

    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        return [self.embed_document(t) for t in texts]

    def embed_query(self, text: str) -> SparseVector:
        return self._merge({self._term_id(t): 1.0 for t in set(self.terms(text))})
