"""Query variants for multi-query retrieval: other wordings of one question, retrieved too and fused.

Rule-based variants need no model: the question's content words alone (a question's form words pull dense
search toward other questions), and its parts when it joins several (`A and B?`, `A; B`, `A vs B`). LLM
paraphrases and decompositions are made by the chat pipeline (api/orchestration/multi_query.py) and passed in
as `RetrievalRequest.variants`.
"""

from __future__ import annotations

import re

from citewise.retrieval.encoders.sparse import STOPWORDS, TOKEN_RE

_JOINS = re.compile(r"\?\s+|;\s+|\s+(?:and|versus|vs\.?|compared (?:to|with))\s+", re.IGNORECASE)
_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "does", "do"})
MIN_PART_WORDS = 2


def content_words(text: str) -> list[str]:
    return [w for w in TOKEN_RE.findall(text.lower()) if w not in STOPWORDS and w not in _QUESTION_WORDS]


def rule_variants(query: str, limit: int = 3) -> list[str]:
    """Up to `limit` variants of `query`, none equal to it: its content words, then its parts."""
    out: list[str] = []
    words = content_words(query)
    if words and " ".join(words) != query.lower().strip(" ?.!"):
        out.append(" ".join(words))
    parts = [p.strip(" ?.!,") for p in _JOINS.split(query)]
    if len(parts) > 1:
        out += [p for p in parts if len(content_words(p)) >= MIN_PART_WORDS]
    seen, unique = {query.strip().lower()}, []
    for v in out:
        if v.lower() not in seen:
            seen.add(v.lower())
            unique.append(v)
    return unique[:limit]
