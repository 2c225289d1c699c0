"""The answer pipeline: small typed steps, each timed and traced, emitting events that the HTTP layer streams
or collects.

input guard -> memory (summary, standalone query) -> retrieve -> evidence check -> prompt (template, budget)
-> answer cache -> generate (gateway, fallbacks) -> output guard -> cite -> cache store
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

from citewise.api.orchestration import answerability
from citewise.api.orchestration import guardrails as guards
from citewise.api.orchestration.agent import AgentRun, run_agent
from citewise.api.orchestration.budget import fit_sources, listing
from citewise.api.orchestration.cache import AnswerCache, NoAnswerCache, answer_key
from citewise.api.orchestration.citations import Citation, cite, supported_only
from citewise.api.orchestration.memory import recall
from citewise.api.orchestration.multi_query import llm_variants
from citewise.api.orchestration.prompts import PromptRegistry, Template
from citewise.api.orchestration.providers import Call, FallbackChain, LlmProvider, Prompt, Source, build_provider
from citewise.api.orchestration.providers.extractive import ExtractiveProvider
from citewise.api.orchestration.providers.openai import StreamInterruptedError
from citewise.api.orchestration.routing import Route, Router
from citewise.api.orchestration.schemas import ChatResult, Event, SourceOut, Turn, UsageOut
from citewise.api.orchestration.telemetry import Telemetry, TurnSpans
from citewise.api.orchestration.tools import TOOLS
from citewise.errors import CitewiseError, ConfigError, ProviderError, SaturatedError
from citewise.models import SearchHit
from citewise.retrieval.retriever import RetrievalRequest, Retriever, SearchFilters
from citewise.settings import LlmProfile, Settings

REFUSAL = "I could not find an answer to this in the knowledge base."
OUT_OF_SCOPE = (
    "That is outside what I can help with: I answer questions from your organisation's documents, "
    "and cite the passages I used."
)
_THANKS = re.compile(r"\b(thanks?|thank you|thx|cheers|great|perfect|awesome|nice)\b", re.IGNORECASE)
_BYE = re.compile(r"\b(bye|goodbye|see you|talk to you later|good night|that's all)\b", re.IGNORECASE)


def small_talk(question: str) -> str:
    """The conversational route's reply: no retrieval, no citations, nothing a model could invent."""
    if _BYE.search(question):
        return "Goodbye! Come back any time you have a question about your documents."
    if _THANKS.search(question):
        return "You're welcome! Ask me anything else about your documents."
    return (
        "Hello! I'm Citewise. I answer questions from your organisation's documents and cite the exact "
        "passages I used. What would you like to know?"
    )


class ChatPipeline:
    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        *,
        prompts: PromptRegistry | None = None,
        cache: AnswerCache | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.prompts = prompts or PromptRegistry(None)
        self.cache = cache or NoAnswerCache()
        self.telemetry = telemetry or Telemetry()
        self.router = (
            Router(settings.router, lambda texts: retriever.encoder.embed_documents(texts))
            if retriever is not None
            else None
        )
        self.input_checks = guards.input_checks(
            settings.guards, embed=lambda text: retriever.encoder.embed_query(text), backend=settings.embedding.backend
        )
        self.profiles = {p.name: p for p in settings.chat.profiles}
        if settings.chat.default_profile not in self.profiles:
            raise ConfigError(f"default profile {settings.chat.default_profile!r} is not among chat.profiles")
        self._chains: dict[str, list[tuple[str, LlmProvider]]] = {}
        self._own: dict[str, LlmProvider] = {}
        self._tool_set: dict | None = None
        self._chains_lock = threading.RLock()  # _providers builds through _provider

    # --- profiles and providers -------------------------------------------------------------------------

    def profile(self, name: str | None) -> LlmProfile:
        name = name or self.settings.chat.default_profile
        if name not in self.profiles:
            raise ConfigError(f"unknown answering profile {name!r}; known: {', '.join(self.profiles)}")
        return self.profiles[name]

    def template(self, tenant: str, request_prompt: str | None, profile: LlmProfile) -> Template:
        return self.prompts.resolve(tenant, request_prompt or profile.prompt or self.settings.chat.prompt_template)

    def check(self, tenant: str, profile_name: str | None, prompt: str | None) -> LlmProfile:
        """Unknown profile or template: a 400 before anything runs (and before a stream's 200)."""
        profile = self.profile(profile_name)
        self.template(tenant, prompt, profile)
        return profile

    def _providers(self, profile: LlmProfile) -> FallbackChain:
        """A fresh chain (it records this request's calls) over providers built once per profile and shared
        by every request: one gateway per profile (balancing and circuit state), one loaded GGUF model.

        A fallback naming another profile uses that profile's own provider; any other name is a provider
        kind run with this profile's options."""
        with self._chains_lock:
            if profile.name not in self._chains:
                chain: list[tuple[str, LlmProvider]] = [(profile.provider, self._provider(profile))]
                for name in dict.fromkeys(profile.fallback):
                    if name in self.profiles and name != profile.name:
                        chain.append((name, self._provider(self.profiles[name])))
                    elif name != profile.provider:
                        chain.append((name, build_provider(name, profile)))
                self._chains[profile.name] = chain
        return FallbackChain(self._chains[profile.name])

    def _provider(self, profile: LlmProfile) -> LlmProvider:
        """The profile's own provider, built once: concurrent first requests must share one gateway."""
        with self._chains_lock:
            if profile.name not in self._own:
                provider = build_provider(profile.provider, profile)
                if hasattr(provider, "resolve"):  # an ensemble: its members are other profiles' providers
                    provider.resolve = lambda name: self._provider(self.profiles[name])
                self._own[profile.name] = provider
            return self._own[profile.name]

    def health(self) -> list[dict]:
        """Every built gateway endpoint's state (circuit, in flight, served, errors), for metrics."""
        with self._chains_lock:
            own = dict(self._own)
        return [
            {"profile": name, **row} for name, provider in own.items() for row in getattr(provider, "health", list)()
        ]

    def admit(self, profile: LlmProfile) -> None:
        """Before a streamed answer starts (its 200 goes out at once): 503 now if every server is busy."""
        provider = self._provider(profile)
        balancer = getattr(provider, "balancer", None)
        if balancer is not None and balancer.saturated():
            raise SaturatedError("every model server is busy; retry shortly", retry_after=1.0)

    def _window(self, profile: LlmProfile) -> int | None:
        """The context window a prompt must fit: the smallest endpoint's, or an ensemble's smallest member's."""
        members = getattr(profile, "members", None)
        if members:
            windows = [w for w in (self._window(self.profiles[m]) for m in members if m in self.profiles) if w]
            return min(windows) if windows else None
        return getattr(profile, "prompt_window", None) or getattr(profile, "context_window", None)

    def _helper(self, profile: LlmProfile, turn: Turn, enabled: bool):  # noqa: ANN202
        """The profile's own model for chores (summary, standalone query, query variants); None without one."""
        if profile.provider == "extractive" or not enabled:
            return None
        provider = self._provider(profile)

        def generate(template_name: str, values: dict[str, str]) -> str | None:
            template = self.prompts.resolve(turn.identity.tenant, template_name)
            call = Call()
            try:
                text = "".join(provider.stream(Prompt("", template.system, template.render(**values)), call))
            except CitewiseError:
                return None
            finally:
                turn.calls.append(call)
            return text.strip() or None

        return generate

    # --- one turn -----------------------------------------------------------------------------------------

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
        profile = self.profile(turn.request.profile)
        turn.profile = profile.name
        attrs = {"citewise.tenant": turn.identity.tenant, "citewise.profile": profile.name, "trace_id": turn.trace_id}
        if self.settings.telemetry.record_question_text:
            attrs["citewise.question"] = turn.request.question
        spans = TurnSpans(attrs)
        try:
            yield from self._run(turn, profile, spans)
        finally:
            spans.calls(turn.calls, profile.name, cached=turn.cached)
            self.telemetry.record_calls(profile.name, turn.calls)
            self.telemetry.record_checks(turn.checks)
            attrs = {"citewise.flags": list(turn.flags), "citewise.cached": turn.cached}
            if turn.route is not None:
                attrs |= {"citewise.route": turn.route.name, "citewise.route_confidence": turn.route.confidence}
            spans.end(attrs)

    def _run(self, turn: Turn, profile: LlmProfile, spans: TurnSpans) -> Iterator[Event]:
        chat = self.settings.chat
        clock = [time.perf_counter(), time.time_ns()]

        def lap(step: str, **attributes: object):  # noqa: ANN202
            now, wall = time.perf_counter(), time.time_ns()
            turn.timings[step] = round((now - clock[0]) * 1000, 2)
            span = spans.step(step, clock[1], wall, attributes)
            clock[:] = [now, wall]
            return span

        # 1. input guard
        for check in self.input_checks:
            verdict = check.run(turn.request.question, turn.identity.key_id)
            turn.checks[verdict.check] = verdict.action
            if verdict.action != "pass":
                turn.flags.append(verdict.flag)
                yield Event("guardrail", {"check": verdict.check, "action": verdict.action, "detail": verdict.detail})
            if verdict.action == "block":
                lap("input_guard")
                self.telemetry.refusals.labels(verdict.check).inc()
                yield Event("done", self._result(turn, verdict_answer(verdict), [], refused=True))
                return
        lap("input_guard")
        # 2. route (a forced route skips the router); the vector is the one retrieval reuses from its cache
        turn.route = self._route(turn)
        lap("route", route=turn.route.name, confidence=turn.route.confidence)
        if turn.route.name in ("conversational", "out_of_scope"):
            answer = small_talk(turn.request.question) if turn.route.name == "conversational" else OUT_OF_SCOPE
            refused = turn.route.name == "out_of_scope"
            if refused:
                self.telemetry.refusals.labels("out_of_scope").inc()
            yield Event("token", answer)
            yield Event("done", self._result(turn, answer, [], refused=refused))
            return
        wants_agent = turn.request.mode == "agent" or (
            turn.request.mode is None and turn.route.name in ("multi_step", "structured")  # tools and tables
        )
        if wants_agent:
            provider = self._provider(profile)
            if hasattr(provider, "complete"):  # a model that can call tools
                turn.query = turn.request.question
                lap("memory")
                yield from self._agent(turn, profile, provider, lap)
                return
            turn.flags.append("agent_unavailable:no tool-calling model in this profile")
        if turn.route.name in ("multi_step", "structured") and not turn.request.mode:  # no tool-calling model
            turn.flags.append(f"route_fallback:{turn.route.name}->knowledge")
        # 3. memory: older turns summarised past the budget; a follow-up becomes a standalone query
        memory = recall(
            turn.memory,
            turn.request.question,
            max_tokens=chat.memory_tokens,
            keep_turns=chat.history_turns,
            generate=self._helper(profile, turn, chat.memory_llm),
        )
        turn.query, turn.summary, turn.new_summary = memory.query, memory.summary, memory.new_summary
        if turn.query != turn.request.question:
            turn.flags.append("condensed")
        if memory.rewritten_by == "llm":
            turn.flags.append("rewritten:llm")
        if memory.summarised_by:
            turn.flags.append(f"summarised:{memory.summarised_by}")
        lap("memory", rewritten_by=memory.rewritten_by or "none")
        # 4. retrieve (the caller's principal goes into every vector query), with the LLM's variants if asked
        retrieve_start = clock[1]
        variants = llm_variants(turn.query, self._helper(profile, turn, chat.multi_query_llm))
        if variants:
            turn.flags.append(f"multi_query:llm:{len(variants)}")
        result = self.retriever.run(
            RetrievalRequest(
                query=turn.query,
                principal=turn.identity,
                filters=turn.request.filters or SearchFilters(),
                k=chat.sources,
                variants=variants,
            )
        )
        turn.hits = result.hits
        yield Event("retrieval", [s.model_dump() for s in self._sources(turn.hits)])
        retrieve = lap("retrieve", hits=len(turn.hits), mode=str(result.mode), reranker=result.reranker)
        spans.stages(retrieve, retrieve_start, result.timings_ms)
        # 5. evidence check: the calibrated decision over retrieval signals (or the old dense threshold)
        answerable, detail = self._answerable(turn)
        turn.checks["evidence"] = "pass" if answerable else "refuse"
        if not answerable:
            turn.flags.append(f"insufficient_evidence:{detail}")
            lap("evidence", decision="refuse")
            self.telemetry.refusals.labels("evidence").inc()
            yield Event("done", self._result(turn, REFUSAL, [], refused=True))
            return
        lap("evidence", decision="answer")
        # 6. prompt: the template, sources with instruction-like text neutralised, fitted to the window
        template = self.template(turn.identity.tenant, turn.request.prompt, profile)
        turn.template = template.ref
        sources = []
        turn.checks["source_injection"] = "pass"
        for i, hit in enumerate(turn.hits, 1):
            clean, hit_found = guards.neutralise_source(hit.text)
            if hit_found:
                turn.checks["source_injection"] = "neutralise"
                turn.flags.append(f"source_injection:neutralise:[{i}]")
                yield Event("guardrail", {"check": "source_injection", "action": "neutralise", "detail": f"[{i}]"})
            sources.append(Source(n=i, text=clean, title=hit.title, section=(hit.section_path or [""])[-1]))
        summary = guards.neutralise_source(turn.summary)[0] if turn.summary else "(none)"
        fitted = fit_sources(
            sources,
            fixed_text=template.system + template.render(sources="", question=turn.query, summary=summary),
            context_window=self._window(profile),
            answer_tokens=profile.max_tokens,
        )
        turn.checks["context"] = "trimmed" if fitted.dropped or fitted.truncated else "fit"
        if fitted.truncated:
            turn.flags.append("context_truncated:" + ",".join(f"[{n}]" for n in fitted.truncated))
        if fitted.dropped:
            turn.flags.append("context_dropped:" + ",".join(f"[{n}]" for n in fitted.dropped))
        prompt = Prompt(
            question=turn.request.question,
            system=template.system,
            user=template.render(sources=listing(fitted.sources), question=turn.query, summary=summary),
            sources=fitted.sources,
        )
        citable = turn.hits[: len(fitted.sources)]  # dropped sources cannot be cited
        lap("prompt", template=template.ref)
        # 7. the answer cache: same caller rights, question, passages (and versions), profile and template
        key = self._cache_key(turn, template, citable, profile.name)
        hit = self.cache.get(key)
        self.telemetry.cache.labels("answer", "hit" if hit else "miss").inc()
        if hit is not None:
            turn.cached = True
            lap("cache", result="hit")
            yield from self._from_cache(turn, hit)
            return
        lap("cache", result="miss")
        # 8. generate (streamed); an endpoint that dies mid-answer: the answer starts again on another one
        outcome = yield from self._generate(turn, profile, prompt, lap)
        if outcome is None:
            return
        chain, text = outcome
        by_model = chain.call.provider != "extractive"
        done = yield from self._check_and_cite(turn, profile, text, citable, lap, by_model=by_model)
        if not done.refused and not chain.failures and "restarted" not in turn.flags:  # degraded: not kept
            self.cache.put(key, done.model_dump(mode="json", include=_CACHED))
        yield Event("done", done)

    def _check_and_cite(  # noqa: ANN202
        self,
        turn: Turn,
        profile: LlmProfile,
        text: str,
        citable: list[SearchHit],
        lap,
        *,
        by_model: bool,  # noqa: ANN001
    ):
        """Output guard, the model's own refusal, citations and the ungrounded policy; returns the result
        (the caller yields `done`), after yielding a `citation` event per citation."""
        chat = self.settings.chat
        answer, planted = guards.neutralise_source(text)  # an order that slipped into the answer goes
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
        if by_model and answerability.model_refused(answer):
            turn.flags.append("model_refusal")  # the model itself found no answer in the sources
            turn.checks["evidence"] = "refuse"
            self.telemetry.refusals.labels("model").inc()
            lap("cite")
            return self._result(turn, REFUSAL, [], refused=True)
        cited = cite(answer, citable, chat.support_threshold)
        turn.checks["groundedness"] = "pass" if cited.grounded else "flag"
        policy = getattr(profile, "ungrounded", "flag")
        if not cited.grounded and policy != "flag":
            kept = supported_only(cited) if policy == "supported_only" else ""
            if kept:
                turn.flags.extend([*cited.flags, "ungrounded:removed_unsupported"])  # what was removed, and why
                turn.checks["groundedness"] = "trimmed"
                cited = cite(kept, citable, chat.support_threshold)
            else:
                turn.flags.extend([*cited.flags, "ungrounded:refused"])
                turn.checks["groundedness"] = "refuse"
                self.telemetry.refusals.labels("ungrounded").inc()
                lap("cite")
                return self._result(turn, REFUSAL, [], refused=True)
        turn.flags.extend(f for f in cited.flags if f not in turn.flags)
        turn.checks["citations"] = "fixed" if any(f.startswith("dangling") for f in turn.flags) else "pass"
        for c in cited.citations:
            yield Event("citation", c.model_dump())
        lap("cite")
        return self._result(turn, cited.answer, cited.citations, refused=False, grounded=cited.grounded)

    def _agent(self, turn: Turn, profile: LlmProfile, provider: LlmProvider, lap) -> Iterator[Event]:  # noqa: ANN001
        """The agent path: tools in a bounded loop, then the same checks and citations as any answer."""
        template = self.prompts.resolve(turn.identity.tenant, "agent")
        turn.template = template.ref
        run = AgentRun()
        try:
            yield from run_agent(
                provider,
                self._tools(),
                turn.identity,
                template.system,
                template.render(question=turn.query or turn.request.question),
                self.settings.agent,
                run,
                getattr(profile, "tool_protocol", "native"),
            )
        except CitewiseError as exc:
            turn.calls.extend(run.calls)
            if isinstance(exc, SaturatedError):
                raise
            yield Event("error", {"message": str(exc)})
            return
        finally:
            turn.steps = [s.model_dump() for s in run.steps]
            turn.stop_reason = run.stop_reason
        turn.calls.extend(run.calls)
        if run.protocol != "native":
            turn.flags.append(f"agent_protocol:{run.protocol}")
        turn.hits = run.passages
        turn.call = run.calls[-1] if run.calls else None
        lap("agent", steps=len(run.steps), stop_reason=run.stop_reason, protocol=run.protocol)
        yield Event("retrieval", [s.model_dump() for s in self._sources(turn.hits)])
        text, by_model = run.answer, True
        if run.stop_reason != "answer":  # a limit ended the run: answer from what the tools found
            turn.flags.append(f"agent_stopped:{run.stop_reason}")
            sources = [Source(n=i, text=h.text, title=h.title) for i, h in enumerate(run.passages, 1)]
            text = "".join(ExtractiveProvider().stream(Prompt(turn.request.question, "", "", sources), Call()))
            by_model = False
        if not text or not run.passages:
            yield Event("done", self._result(turn, REFUSAL, [], refused=True))
            return
        done = yield from self._check_and_cite(turn, profile, text, run.passages, lap, by_model=by_model)
        yield Event("done", done)

    def _tools(self) -> dict:
        if self._tool_set is None:
            self._tool_set = {name: TOOLS.get(name)(self.retriever) for name in self.settings.agent.tools}
        return self._tool_set

    def _route(self, turn: Turn) -> Route:
        if turn.request.route:
            return Route(name=turn.request.route, confidence=1.0, reason="forced")
        if not self.settings.router.enabled or self.router is None:
            return Route(name="knowledge", confidence=1.0, reason="off")
        vector = self.retriever.query_vector(turn.request.question)
        return self.router.route(turn.request.question, vector, turn.identity.tenant)

    def _answerable(self, turn: Turn) -> tuple[bool, str]:
        chat = self.settings.chat
        if chat.answerability == "threshold":
            best = max((h.scores.get("dense", 0.0) for h in turn.hits), default=0.0)
            return best >= chat.evidence_threshold, f"{best:.2f}<{chat.evidence_threshold:.2f}"
        model = chat.answerability_models.get(self.settings.embedding.backend, chat.answerability_model)
        if model.cross_lingual is not None and turn.hits:
            model = answerability.pick(model, self.retriever.sparse.query_language(turn.query), turn.hits)
        value = answerability.score(answerability.signals(turn.query, turn.hits), model) if turn.hits else 0.0
        return value >= model.threshold, f"{value:.2f}<{model.threshold:.2f}"

    def _generate(self, turn: Turn, profile: LlmProfile, prompt: Prompt, lap):  # noqa: ANN001, ANN202
        """Stream the answer through the fallback chain; (chain, text), or None after an `error` event."""
        for restart in (False, True):
            chain = self._providers(profile)
            parts: list[str] = []
            try:
                for token in chain.stream(prompt):
                    parts.append(token)
                    yield Event("token", token)
                break
            except StreamInterruptedError as exc:
                turn.calls.extend(chain.calls)
                if restart:
                    lap("generate", outcome="interrupted")
                    yield Event("error", {"message": str(exc)})
                    return None
                turn.flags.append("restarted")
                yield Event("reset", {"reason": str(exc)})
            except SaturatedError:
                turn.calls.extend(chain.calls)
                self.telemetry.refusals.labels("saturated").inc()
                raise
            except ProviderError as exc:
                turn.calls.extend(chain.calls)
                turn.flags.extend(f"provider_failed:{f}" for f in chain.failures)
                lap("generate", outcome="failed")
                yield Event("error", {"message": str(exc)})
                return None
        turn.calls.extend(chain.calls)
        turn.call = chain.call
        turn.ensemble = chain.call.ensemble
        if chain.failures:
            turn.flags.append(f"fallback:{profile.provider}->{chain.used}")
            if chain.call.provider == "extractive" and profile.provider != "extractive":
                turn.flags.append("degraded:extractive")
        lap("generate", endpoint=chain.call.endpoint or "", provider=chain.call.provider)
        return chain, "".join(parts)

    def _cache_key(self, turn: Turn, template: Template, hits: list[SearchHit], profile: str) -> str:
        return answer_key(
            tenant=turn.identity.tenant,
            principals=turn.identity.acl_principals(),
            question=turn.request.question,
            query=turn.query,
            summary=turn.summary,
            chunk_ids=[h.chunk_id for h in hits],
            profile=profile,
            template=template.ref,
            policy=f"pii={self.settings.guards.redact_pii_in_answers}",
        )

    def _from_cache(self, turn: Turn, stored: dict) -> Iterator[Event]:
        cached = ChatResult.model_validate(
            {**stored, "session_id": turn.request.session_id, "trace_id": turn.trace_id, "timings": {}}
        )
        if cached.answer:
            yield Event("token", cached.answer)
        for c in cached.citations:
            yield Event("citation", c.model_dump())
        turn.flags.extend(f for f in cached.flags if f not in turn.flags)
        turn.flags.append("cache:hit")
        turn.checks.update({k: v for k, v in cached.checks.items() if k not in turn.checks})
        done = self._result(turn, cached.answer, cached.citations, refused=False, grounded=cached.grounded)
        done.provider, done.endpoint = cached.provider, cached.endpoint  # who wrote it; nothing is paid now
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
            profile=turn.profile,
            provider=turn.call.provider if turn.call else None,
            endpoint=turn.call.endpoint if turn.call else None,
            template=turn.template,
            route=turn.route,
            steps=list(turn.steps),
            stop_reason=turn.stop_reason,
            ensemble=turn.ensemble,
            usage=UsageOut.of(turn.calls),
        )


# What an answer cache entry keeps: the answer and who wrote it, not this request's ids or timings.
_CACHED = {"answer", "citations", "grounded", "refused", "flags", "checks", "provider", "endpoint", "template"}


def verdict_answer(verdict: guards.Verdict) -> str:
    if verdict.check == "prompt_injection":
        return "I can't follow instructions that try to change how I work. Please ask a question about your documents."
    return f"Request refused: {verdict.detail}."
