"""Citations: map every [n] to its passage, drop markers that point nowhere, check each sentence's support.

A sentence "states a fact" when it has at least MIN_FACT_TERMS content terms. It is supported when one of
its cited passages holds at least `threshold` of its content terms (lexical support; the threshold is
calibrated by `python -m citewise.evals.calibrate_chat`). `grounded` is true only if every fact sentence is supported.
A table query's result (chunk id `table:`) is computed, so its words are the SQL's, not the claim's: a claim
with numbers is supported by it when every number in the claim is in the result.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from citewise.api.orchestration import text as textutil
from citewise.models import SearchHit

MARKER = re.compile(r"\s?\[(\d{1,3})\]")
_AFTER_STOP = re.compile(r"([.!?])((?:\s?\[\d{1,3}\])+)")  # "fact. [1]" -> "fact [1]." so [1] stays with it
MIN_FACT_TERMS = 3


class SourceRef(BaseModel):
    """A numbered passage the answer may cite, as the caller sees it."""

    n: int
    doc_id: str
    chunk_id: str
    title: str
    uri: str
    page: int | None

    @classmethod
    def from_hit(cls, n: int, hit: SearchHit, **extra: object) -> SourceRef:
        return cls(n=n, doc_id=hit.doc_id, chunk_id=hit.chunk_id, title=hit.title, uri=hit.path, page=hit.page, **extra)


class Citation(SourceRef):
    char_start: int | None
    char_end: int | None
    quote: str
    support: float


class CitedAnswer(BaseModel):
    answer: str
    citations: list[Citation]
    grounded: bool
    flags: list[str]


def support(claim: str, hit: SearchHit, text: str | None = None) -> float:
    """How much of the claim `text` (by default the whole passage) of `hit` supports."""
    text = hit.text if text is None else text
    if hit.chunk_id.startswith("table:") and (wanted := textutil.numbers(claim)):
        return len(wanted & textutil.numbers(text)) / len(wanted)
    return textutil.support(claim, text)


def _best_quote(claim: str, hit: SearchHit) -> tuple[str, int | None, int | None, float]:
    if hit.chunk_id.startswith("table:"):  # the result as a whole is the quote
        return hit.text, None, None, support(claim, hit)
    best = ("", None, None, -1.0)
    for a, b in textutil.sentence_spans(hit.text) or [(0, len(hit.text))]:
        score = support(claim, hit, hit.text[a:b])
        if score > best[3]:
            offset = hit.char_start
            best = (
                hit.text[a:b],
                None if offset is None else offset + a,
                None if offset is None else offset + b,
                score,
            )
    return best


def cite(answer: str, sources: list[SearchHit], threshold: float) -> CitedAnswer:
    flags: list[str] = []
    answer = _AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", answer)
    dangling = sorted({int(m.group(1)) for m in MARKER.finditer(answer) if not 1 <= int(m.group(1)) <= len(sources)})
    if dangling:
        answer = MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(sources) else "", answer)
        flags.append("dangling_citation_removed:" + ",".join(f"[{n}]" for n in dangling))
    citations: dict[int, Citation] = {}
    grounded = True
    fact_sentences = 0
    for i, (a, b) in enumerate(textutil.sentence_spans(answer)):
        sentence = answer[a:b]
        claim = MARKER.sub("", sentence).strip()
        numbers = sorted({int(m.group(1)) for m in MARKER.finditer(sentence)})
        if len(textutil.terms(claim)) < MIN_FACT_TERMS:
            continue
        fact_sentences += 1
        best_support = 0.0
        for n in numbers:
            hit = sources[n - 1]
            quote, start, end, score = _best_quote(claim, hit)
            passage_support = support(claim, hit)
            best_support = max(best_support, passage_support)
            if n not in citations or score > citations[n].support:
                citations[n] = Citation.from_hit(
                    n, hit, char_start=start, char_end=end, quote=quote, support=round(score, 3)
                )
        if not numbers:
            grounded = False
            flags.append(f"uncited_sentence:{i + 1}")
        elif best_support < threshold:
            grounded = False
            flags.append(f"unsupported_sentence:{i + 1}")
    if fact_sentences == 0:
        grounded = False
    return CitedAnswer(
        answer=answer.strip(), citations=[citations[n] for n in sorted(citations)], grounded=grounded, flags=flags
    )


def supported_only(cited: CitedAnswer) -> str:
    """The answer without the sentences `cite` flagged as unsupported or uncited ("" when none is left that
    states a fact)."""
    bad = {
        int(f.rsplit(":", 1)[1]) for f in cited.flags if f.startswith(("unsupported_sentence:", "uncited_sentence:"))
    }
    spans = textutil.sentence_spans(cited.answer)
    kept = [cited.answer[a:b] for i, (a, b) in enumerate(spans, 1) if i not in bad]
    if not any(len(textutil.terms(MARKER.sub("", s))) >= MIN_FACT_TERMS for s in kept):
        return ""
    return " ".join(kept)
