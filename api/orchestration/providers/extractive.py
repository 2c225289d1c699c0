"""`extractive`: no model; the passages' best-matching sentences, each cited. The zero-set-up default."""

from __future__ import annotations

import time
from collections.abc import Iterator

from citewise.api.orchestration import text as textutil
from citewise.api.orchestration.providers.base import Attempt, Call, Prompt, Usage, estimate_tokens
from citewise.settings import ExtractiveProfile


class ExtractiveProvider:
    """Answers with up to `max_sentences` source sentences that share the most terms with the question."""

    name = "extractive"

    def __init__(self, max_sentences: int = 3, min_relative: float = 0.6) -> None:
        self.max_sentences = max_sentences
        self.min_relative = min_relative

    @classmethod
    def from_profile(cls, profile: ExtractiveProfile) -> ExtractiveProvider:
        return cls()

    def stream(self, prompt: Prompt, call: Call) -> Iterator[str]:
        call.provider = call.endpoint = self.name
        began, wall = time.perf_counter(), time.time_ns()
        answer = "".join(self._sentences(prompt))
        call.usage = Usage(0, estimate_tokens(answer), estimated=True)  # no model: nothing is paid
        call.attempts.append(Attempt(self.name, "ok", time.perf_counter() - began, started_ns=wall))
        if answer:
            yield answer

    def _sentences(self, prompt: Prompt) -> Iterator[str]:
        q_terms = textutil.terms(prompt.question)
        scored: list[tuple[float, int, int, str]] = []
        for rank, src in enumerate(prompt.sources):
            heading = textutil.terms(src.section)  # a sentence under "Crashes" is about crashes
            for a, b in textutil.sentence_spans(src.text):
                sentence = src.text[a:b]
                s_terms = textutil.terms(sentence) | heading
                complete = sentence.rstrip()[-1:] in ".!?" or len(sentence.split()) >= 12  # not a heading
                if not s_terms or len(sentence) < 20 or not complete:
                    continue
                overlap = len(q_terms & s_terms) / (len(q_terms) or 1)
                scored.append((overlap - 0.01 * rank, src.n, a, sentence))  # ties go to the better passage
        best = sorted(scored, key=lambda t: t[0], reverse=True)[: self.max_sentences]
        if best and best[0][0] > 0:  # keep sentences nearly as relevant as the best one: fewer stray sources
            best = [b for b in best if b[0] >= self.min_relative * best[0][0]]
        else:
            best = best[:1]
        best.sort(key=lambda t: (t[1], t[2]))  # reading order within and across passages
        for i, (_, n, _, sentence) in enumerate(best):
            body = sentence.rstrip()
            end = body[-1] if body[-1] in ".!?" else "."
            yield ("" if i == 0 else " ") + f"{body.rstrip('.!?')} [{n}]{end}"
