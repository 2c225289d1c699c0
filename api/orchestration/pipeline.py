"""The answer pipeline: small typed steps, each timed, emitting events that the HTTP layer streams or collects.

input guard -> condense -> retrieve -> evidence check -> prompt -> generate -> output guard -> cite
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

from citewise.api.orchestration import guardrails as guards
from citewise.api.orchestration.budget import fit_sources, listing
from citewise.api.orchestration.citations import Citation, cite
from citewise.api.orchestration.prompts import load_template
from citewise.api.orchestration.providers import FallbackChain, LlmProvider, Prompt, Source, build_provider
from citewise.api.orchestration.schemas import ChatResult, Event, SourceOut, Turn
from citewise.errors import ConfigError, ProviderError
from citewise.models import SearchHit
from citewise.retrieval.retriever import RetrievalRequest, Retriever, SearchFilters
from citewise.settings import LlmProfile, Settings

REFUSAL = "I could not find an answer to this in the knowledge base."
_FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about|why|so)\b"
    r"|\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there)\b",
    re.IGNORECASE,
)


def condense(question: str, history: list[tuple[str, str]]) -> str:
    """A follow-up ("and in children?", "why is that?") gets the previous question as context for retrieval."""
    previous = [text for role, text in history if role == "user"]
    if not previous or len(question.split()) > 14 or not _FOLLOW_UP.search(question):
        return question
    return f"{previous[-1]} {question}"


class ChatPipeline:
    def __init__(self, settings: Settings, retriever: Retriever) -> None:
        self.settings = settings
        self.retriever = retriever
        self.input_checks = guards.input_checks(settings.guards, embed=lambda text: retriever.encoder.embed_query(text))
        self.profiles = {p.name: p for p in settings.chat.profiles}
        if settings.chat.default_profile not in self.profiles:
            raise ConfigError(f"default profile {settings.chat.default_profile!r} is not among chat.profiles")
        self._chains: dict[str, list[LlmProvider]] = {}
        self._chains_lock = threading.Lock()

    def profile(self, name: str | None) -> LlmProfile:
        name = name or self.settings.chat.default_profile
        if name not in self.profiles:
            raise ConfigError(f"unknown answering profile {name!r}; known: {', '.join(self.profiles)}")
        return self.profiles[name]

    def _providers(self, profile: LlmProfile) -> FallbackChain:
        """A fresh chain (it records this request's failures) over providers built once per profile:
        one HTTP connection pool per endpoint, one loaded GGUF model."""
        with self._chains_lock:
            if profile.name not in self._chains:
                kinds = dict.fromkeys([profile.provider, *profile.fallback])  # ordered, without repeats
                self._chains[profile.name] = [build_provider(kind, profile) for kind in kinds]
        return FallbackChain(self._chains[profile.name])

    def answer(self, turn: Turn) -> ChatResult:
        """Run the pipeline to its end; raises ProviderError when every provider failed."""
        for event in self.run(turn):
            if event.type == "error":
                raise ProviderError(event.data["message"])
            if event.type == "done":
                return event.data
        raise ProviderError("the pipeline ended without an answer")

    def run(self, turn: Turn) -> Iterator[Event]:
        """Yields events; the last one is `done` with the ChatResult (or `error`)."""
        chat = self.settings.chat
        clock = [time.perf_counter()]

        def lap(step: str) -> None:
            now = time.perf_counter()
            turn.timings[step] = round((now - clock[0]) * 1000, 2)
            clock[0] = now

        profile = self.profile(turn.request.profile)
        # 1. input guard
        for check in self.input_checks:
            verdict = check.run(turn.request.question, turn.identity.key_id)
            turn.checks[verdict.check] = verdict.action
            if verdict.action != "pass":
                turn.flags.append(verdict.flag)
                yield Event("guardrail", {"check": verdict.check, "action": verdict.action, "detail": verdict.detail})
            if verdict.action == "block":
                lap("input_guard")
                yield Event("done", self._result(turn, verdict_answer(verdict), [], refused=True))
                return
        lap("input_guard")
        # 2. condense
        turn.query = condense(turn.request.question, turn.history[-2 * chat.history_turns :])
        if turn.query != turn.request.question:
            turn.flags.append("condensed")
        lap("condense")
        # 3. retrieve (the caller's principal goes into every vector query)
        result = self.retriever.run(
            RetrievalRequest(
                query=turn.query,
                principal=turn.identity,
                filters=turn.request.filters or SearchFilters(),
                k=chat.sources,
            )
        )
        turn.hits = result.hits
        yield Event("retrieval", [s.model_dump() for s in self._sources(turn.hits)])
        lap("retrieve")
        # 4. evidence check
        best = max((h.scores.get("dense", 0.0) for h in turn.hits), default=0.0)
        turn.checks["evidence"] = "pass" if best >= chat.evidence_threshold else "refuse"
        if best < chat.evidence_threshold:
            turn.flags.append(f"insufficient_evidence:{best:.2f}<{chat.evidence_threshold:.2f}")
            lap("evidence")
            yield Event("done", self._result(turn, REFUSAL, [], refused=True))
            return
        lap("evidence")
        # 5. prompt, with instruction-like text in sources neutralised
        sources = []
        turn.checks["source_injection"] = "pass"
        for i, hit in enumerate(turn.hits, 1):
            clean, hit_found = guards.neutralise_source(hit.text)
            if hit_found:
                turn.checks["source_injection"] = "neutralise"
                turn.flags.append(f"source_injection:neutralise:[{i}]")
                yield Event("guardrail", {"check": "source_injection", "action": "neutralise", "detail": f"[{i}]"})
            sources.append(Source(n=i, text=clean, title=hit.title))
        system, user = load_template(chat.prompt_template)
        fitted = fit_sources(
            sources,
            fixed_text=system + user.format(sources="", question=turn.query),
            context_window=getattr(profile, "context_window", None),
            answer_tokens=profile.max_tokens,
        )
        turn.checks["context"] = "trimmed" if fitted.dropped or fitted.truncated else "fit"
        if fitted.truncated:
            turn.flags.append("context_truncated:" + ",".join(f"[{n}]" for n in fitted.truncated))
        if fitted.dropped:
            turn.flags.append("context_dropped:" + ",".join(f"[{n}]" for n in fitted.dropped))
        prompt = Prompt(
            question=turn.request.question,
            system=system,
            user=user.format(sources=listing(fitted.sources), question=turn.query),
        )
        prompt.sources = fitted.sources
        lap("prompt")
        # 6. generate (streamed)
        chain = self._providers(profile)
        parts: list[str] = []
        try:
            for token in chain.stream(prompt):
                parts.append(token)
                yield Event("token", token)
        except ProviderError as exc:
            turn.flags.extend(f"provider_failed:{f}" for f in chain.failures)
            lap("generate")
            yield Event("error", {"message": str(exc)})
            return
        if chain.failures:
            turn.flags.append(f"fallback:{profile.provider}->{chain.used}")
        lap("generate")
        # 7. output guard
        answer = "".join(parts)
        answer, planted = guards.neutralise_source(answer)  # an order that slipped into the answer goes
        turn.checks["output_injection"] = "removed" if planted else "pass"
        if planted:
            turn.flags.append("output_injection:removed")
        turn.checks["pii"] = "off"
        if self.settings.guards.redact_pii_in_answers:
            turn.checks["pii"] = "pass"
            answer, kinds = guards.redact_pii(answer)
            if kinds:
                turn.checks["pii"] = "redact"
                turn.flags.append("pii:redact:" + ",".join(kinds))
        lap("output_guard")
        # 8. cite
        cited = cite(answer, turn.hits[: len(fitted.sources)], chat.support_threshold)  # dropped: not citable
        turn.flags.extend(cited.flags)
        turn.checks["citations"] = "fixed" if any(f.startswith("dangling") for f in cited.flags) else "pass"
        turn.checks["groundedness"] = "pass" if cited.grounded else "flag"
        for c in cited.citations:
            yield Event("citation", c.model_dump())
        lap("cite")
        done = self._result(turn, cited.answer, cited.citations, refused=False, grounded=cited.grounded)
        done.provider = chain.used
        yield Event("done", done)

    def _sources(self, hits: list[SearchHit]) -> list[SourceOut]:
        return [SourceOut.from_hit(i, h, score=round(h.score, 4)) for i, h in enumerate(hits, 1)]

    def _result(
        self, turn: Turn, answer: str, citations: list[Citation], *, refused: bool, grounded: bool = False
    ) -> ChatResult:
        turn.timings["total"] = round(sum(v for k, v in turn.timings.items() if k != "total"), 2)
        return ChatResult(
            answer=answer,
            citations=citations,
            grounded=grounded,
            refused=refused,
            flags=list(turn.flags),
            checks=dict(turn.checks),
            session_id=turn.request.session_id,
            trace_id=turn.trace_id,
            timings=dict(turn.timings),
            sources=self._sources(turn.hits),
        )


def verdict_answer(verdict: guards.Verdict) -> str:
    if verdict.check == "prompt_injection":
        return "I can't follow instructions that try to change how I work. Please ask a question about your documents."
    return f"Request refused: {verdict.detail}."
