"""Sentence spans and lexical support, shared by the extractive answerer and the citation checker."""

from __future__ import annotations

import re
from functools import lru_cache

from citewise.retrieval.encoders.sparse import Bm25Encoder

_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")


_PIECE_END = re.compile(r"(?<=[.!?。！？\n])")


def sentence_pieces(text: str) -> list[str]:
    """The text cut after every sentence end (Latin or CJK) and line break; joined, they give the text back.

    Coarser than `sentence_spans` (no capital letter needed after a stop), for editing a passage in place.
    """
    return [piece for piece in _PIECE_END.split(text) if piece]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, trimmed of surrounding whitespace."""
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


@lru_cache(maxsize=1)
def _bm25() -> Bm25Encoder:
    return Bm25Encoder()


@lru_cache(maxsize=8192)
def terms(text: str) -> frozenset[str]:
    """Content terms (stop words dropped, stemmed or Korean morphemes), as BM25 sees them, in the text's own
    language: a German question and a German passage meet on German stems. Cached: the answerability check,
    the extractive answerer and the citation check read the same sentences, and detection is not free."""
    bm25 = _bm25()
    return frozenset(bm25.terms(text, bm25.detect(text)))


def query_language(text: str) -> str:
    """A question's language, as BM25 analyses it (the default one when short or ambiguous)."""
    return _bm25().query_language(text)


def support(claim: str, source: str) -> float:
    """Share of the claim's content terms found in the source (1.0 = every term present)."""
    wanted = terms(claim)
    if not wanted:
        return 1.0
    return len(wanted & terms(source)) / len(wanted)


_NUM = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


def numbers(text: str) -> set[float]:
    """The numbers written in a text, thousands separators removed ("2,700.50" and "2700.5" are one)."""
    found = set()
    for m in _NUM.finditer(text):
        try:
            found.add(round(float(m.group(0).replace(",", "")), 6))
        except ValueError:
            continue
    return found
