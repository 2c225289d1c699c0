"""Context budgeting: the prompt fits the model's context window minus the answer's budget.

Sources are taken in rank order; the first one that does not fit is cut at a sentence boundary when enough
room is left for a useful part of it, and every source after it is dropped. What was cut or dropped is
reported, and dropped sources are not citable. Token counts are `estimate_tokens` (conservative), since each
endpoint tokenises differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from citewise.api.orchestration.providers.base import Source, estimate_tokens
from citewise.api.orchestration.text import sentence_pieces

MARGIN_TOKENS = 32  # chat-template wrapping around system and user messages
MIN_USEFUL_TOKENS = 48  # a cut source shorter than this is dropped instead


def listing(sources: list[Source]) -> str:
    return "\n\n".join(f"[{s.n}] {s.title}\n{s.text}" for s in sources)


@dataclass
class Budgeted:
    sources: list[Source]
    dropped: list[int] = field(default_factory=list)  # source numbers left out
    truncated: list[int] = field(default_factory=list)  # source numbers cut at a sentence boundary
    prompt_tokens: int = 0  # the estimate for what is sent


def _cut(text: str, tokens: int) -> str:
    """The longest run of whole sentences from the start that fits `tokens`."""
    kept, used = [], 0
    for sentence in sentence_pieces(text):
        cost = estimate_tokens(sentence)
        if used + cost > tokens:
            break
        kept.append(sentence)
        used += cost
    return "".join(kept).rstrip()


def fit_sources(sources: list[Source], *, fixed_text: str, context_window: int | None, answer_tokens: int) -> Budgeted:
    """Keep what fits in `context_window` beside `fixed_text` (system prompt, template, question, history)."""
    fixed = estimate_tokens(fixed_text) + MARGIN_TOKENS
    if context_window is None:  # no model (the extractive answerer): nothing to fit
        return Budgeted(sources=list(sources), prompt_tokens=fixed + estimate_tokens(listing(sources)))
    room = context_window - answer_tokens - fixed
    out = Budgeted(sources=[])
    for i, source in enumerate(sources):
        cost = estimate_tokens(f"[{source.n}] {source.title}\n{source.text}\n\n")
        if cost <= room:
            out.sources.append(source)
            room -= cost
            continue
        header = estimate_tokens(f"[{source.n}] {source.title}\n\n\n")
        part = _cut(source.text, room - header) if room - header >= MIN_USEFUL_TOKENS else ""
        if part:
            out.sources.append(Source(n=source.n, text=part, title=source.title))
            out.truncated.append(source.n)
        else:
            out.dropped.append(source.n)
        out.dropped.extend(s.n for s in sources[i + 1 :])
        break
    out.prompt_tokens = fixed + estimate_tokens(listing(out.sources))
    return out
