"""LLM query variants for multi-query retrieval: the profile's model paraphrases or decomposes the question
(template `variants`), and retrieval fuses what each variant finds with the question's own results.

Off by default (`chat.multi_query_llm`): it costs one model call before retrieval on every turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_VARIANTS = 3
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|query\s*\d*:)\s*", re.IGNORECASE)


def parse_variants(text: str | None, question: str, limit: int = MAX_VARIANTS) -> list[str]:
    """One query per line; bullets and numbering go; lines equal to the question, empty or rambling are dropped."""
    out: list[str] = []
    seen = {question.strip().lower()}
    for line in (text or "").splitlines():
        line = _BULLET.sub("", line).strip().strip("\"'")
        if not line or len(line) > 4 * len(question) + 100 or line.lower() in seen:
            continue
        seen.add(line.lower())
        out.append(line[:2000])
    return out[:limit]


def llm_variants(question: str, generate: Callable[[str, dict[str, str]], str | None] | None) -> list[str]:
    if generate is None:
        return []
    return parse_variants(generate("variants", {"question": question}), question)
