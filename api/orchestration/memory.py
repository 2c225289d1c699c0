"""Conversation memory for one turn: past a token budget, older messages are folded into a summary (by the
profile's LLM when it has one, extractively otherwise), and a follow-up is rewritten into a standalone
search query (by the LLM when there is one, by a heuristic otherwise).

What the LLM writes here is only ever a summary or a search query: it goes into retrieval and the prompt as
data, and any failure of the LLM falls back to the extractive summary or the heuristic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from citewise.api.orchestration.providers.base import estimate_tokens
from citewise.api.orchestration.sessions import Memory
from citewise.api.orchestration.text import sentence_spans

_FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about|why|so)\b"
    r"|\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there)\b",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\s*\[\d+\]")

# (template name, placeholder values) -> the LLM's text, or None when there is no LLM or it failed
Generate = Callable[[str, dict[str, str]], str | None]


def heuristic_rewrite(question: str, history: list[tuple[str, str]]) -> str:
    """A follow-up ("and in children?", "why is that?") gets the previous question as context for retrieval."""
    previous = [text for role, text in history if role == "user"]
    if not previous or len(question.split()) > 14 or not _FOLLOW_UP.search(question):
        return question
    return f"{previous[-1]} {question}"


def transcript(turns: list[tuple[str, str]], max_chars: int = 600) -> str:
    lines = []
    for role, text in turns:
        text = _MARKER.sub("", text).strip()
        lines.append(f"{role}: {text[:max_chars]}")
    return "\n".join(lines)


def extractive_summary(previous: str, turns: list[tuple[str, str]], max_tokens: int) -> str:
    """Each exchange as "asked X; answered Y" (the answer's first sentence), appended to the old summary;
    the oldest sentences go first when it outgrows `max_tokens`."""
    pieces = [previous] if previous else []
    question = ""
    for role, text in turns:
        text = _MARKER.sub("", text).strip()
        if role == "user":
            question = text
            continue
        spans = sentence_spans(text)
        first = text[spans[0][0] : spans[0][1]].strip() if spans else text[:200]
        pieces.append(f"The user asked: {question.rstrip('?')}? The answer was: {first}")
    summary = " ".join(p for p in pieces if p)
    while estimate_tokens(summary) > max_tokens and ". " in summary:
        summary = summary.split(". ", 1)[1]  # drop the oldest sentence
    return summary


@dataclass
class Recall:
    summary: str
    recent: list[tuple[str, str]]
    query: str
    new_summary: tuple[str, int] | None = None  # (summary, last summarised message id) to store
    summarised_by: str | None = None  # llm | extractive
    rewritten_by: str | None = None  # llm | heuristic


def recall(
    memory: Memory,
    question: str,
    *,
    max_tokens: int,
    keep_turns: int,
    generate: Generate | None,
) -> Recall:
    turns, summary, new_summary, summarised_by = memory.turns, memory.summary, None, None
    if estimate_tokens(summary + transcript(turns)) > max_tokens and len(turns) > 2 * keep_turns:
        cut = len(turns) - 2 * keep_turns  # the last `keep_turns` exchanges stay verbatim
        older, turns = turns[:cut], turns[cut:]
        text = generate("summarise", {"conversation": f"Earlier: {summary}\n{transcript(older)}"}) if generate else None
        summarised_by = "llm" if text else "extractive"
        summary = (text or extractive_summary(summary, older, max_tokens // 2)).strip()
        if memory.ids:
            new_summary = (summary, memory.ids[cut - 1])
    query, rewritten_by = question, None
    if turns or summary:
        rewritten = _llm_rewrite(question, summary, turns, generate) if generate else None
        if rewritten:
            query, rewritten_by = rewritten, "llm"
        else:
            query = heuristic_rewrite(question, turns)
            rewritten_by = "heuristic" if query != question else None
    return Recall(summary, turns, query, new_summary, summarised_by, rewritten_by)


def _llm_rewrite(question: str, summary: str, turns: list[tuple[str, str]], generate: Generate) -> str | None:
    history = (f"(summary) {summary}\n" if summary else "") + transcript(turns[-6:], 300)
    text = generate("rewrite", {"history": history, "question": question})
    if not text:
        return None
    line = text.strip().splitlines()[0].strip().strip("\"'").removeprefix("Standalone query:").strip()
    if not line or len(line) > 4 * len(question) + 200:  # a model that rambles: keep the heuristic
        return None
    return line
