"""Is the question answerable from what was retrieved? A logistic decision over several signals of the top
passages, instead of one threshold on the best dense cosine.

Signals (`signals`): the best dense cosine and its lead over the rest, the best BM25 score (log, and per
query term), whether the dense and BM25 branches agree on the best document, how much of the question's
content the passages cover (best passage, all passages, best sentence), how many question terms no passage
has, and whether a how-many/when question finds a number in its best sentence. The weights come from
`citewise.evals.calibrate_answerability` (cross-validated on four dev sets; defaults in settings). A
question in another language than its best passage shares no terms with it: a backend's model may carry a
`cross_lingual` one for that case (`pick`). After
generation, an LLM's own "not in the sources" answer also counts as a refusal (`model_refusal`).
"""

from __future__ import annotations

import math
import re

from citewise.api.orchestration import text as textutil
from citewise.models import SearchHit
from citewise.settings import AnswerabilityModel

FEATURES = (
    "dense1",
    "dense_lead",
    "sparse1_log",
    "sparse_per_term",
    "agree",
    "coverage_best",
    "coverage_all",
    "coverage_sentence",
    "missing_all",
    "answer_type",
)
_NUMBER = re.compile(r"\d")
_ASKS_NUMBER = re.compile(r"^\s*(how (many|much|long|often|far|old|fast|quickly|big|high|tall)|when|what time)\b", re.I)

# What a model says when the sources do not hold the answer (the answer@2 template asks for the first one).
_MODEL_REFUSAL = re.compile(
    r"(knowledge base|sources?|context|documents?|provided (text|information)) (do|does) not "
    r"(contain|include|mention|say|provide|answer)"
    r"|\bnot (mentioned|stated|found|given|covered) in the (sources?|context|documents?|knowledge base)"
    r"|\bI (do not|don't|cannot|can't) (know|find|answer)",
    re.IGNORECASE,
)


def signals(question: str, hits: list[SearchHit]) -> dict[str, float]:
    if not hits:
        return dict.fromkeys(FEATURES, 0.0)
    dense = [h.scores.get("dense", 0.0) for h in hits]
    sparse = [h.scores.get("sparse", 0.0) for h in hits]
    q_terms = textutil.terms(question)
    n_terms = max(1, len(q_terms))
    passage_terms = [textutil.terms(f"{h.title} {h.text}") for h in hits]
    covered = [len(q_terms & t) / n_terms for t in passage_terms]
    union = set().union(*passage_terms)
    best_dense = max(range(len(hits)), key=lambda i: dense[i])
    best_sparse = max(range(len(hits)), key=lambda i: sparse[i])
    rest = sorted(dense, reverse=True)[1:]
    best_sentence, typed = 0.0, 0.0
    asks_number = bool(_ASKS_NUMBER.search(question))
    for h in hits[:3]:
        for a, b in textutil.sentence_spans(h.text):
            sentence = h.text[a:b]
            share = len(q_terms & textutil.terms(sentence)) / n_terms
            if share > best_sentence:
                best_sentence = share
                typed = float(bool(_NUMBER.search(sentence))) if asks_number else 1.0
    return {
        "dense1": dense[best_dense],
        "dense_lead": dense[best_dense] - (sum(rest) / len(rest) if rest else 0.0),
        "sparse1_log": math.log1p(max(0.0, sparse[best_sparse])),
        "sparse_per_term": max(0.0, sparse[best_sparse]) / n_terms,
        "agree": float(hits[best_dense].doc_id == hits[best_sparse].doc_id and sparse[best_sparse] > 0),
        "coverage_best": max(covered),
        "coverage_all": len(q_terms & union) / n_terms,
        "coverage_sentence": best_sentence,  # the one sentence that covers most of the question
        "missing_all": float(len(q_terms - union)),  # question terms no passage has
        "answer_type": typed,  # a how-many/when question and a number in that sentence
    }


def crosses_languages(query_language: str | None, hits: list[SearchHit]) -> bool:
    """The question is in another language than its best passage: term coverage says nothing then, so a
    multilingual encoder's decision has a cross-lingual model of its own."""
    best = hits[0].language if hits else None
    return bool(query_language and best and query_language != best)


def pick(model: AnswerabilityModel, query_language: str | None, hits: list[SearchHit]) -> AnswerabilityModel:
    if model.cross_lingual is not None and crosses_languages(query_language, hits):
        return model.cross_lingual
    return model


def score(features: dict[str, float], model: AnswerabilityModel) -> float:
    """The probability-like answerability score (logistic), compared with `model.threshold`."""
    z = model.bias + sum(model.weights.get(name, 0.0) * value for name, value in features.items())
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def model_refused(answer: str) -> bool:
    """The model said the sources do not answer the question (then the answer is a refusal)."""
    return bool(_MODEL_REFUSAL.search(answer))
