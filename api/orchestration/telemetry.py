"""What the orchestration layer reports: Prometheus series (tokens, cost, cache, endpoints, refusals,
guardrail verdicts) and OpenTelemetry spans (one per pipeline step, retrieval stage and LLM call).

Spans go to whatever TracerProvider is installed; `configure_tracing` installs one that exports over OTLP/HTTP
when `telemetry.otlp_endpoint` is set (or adds the exporter to a provider the host application installed).
Question text goes into spans only when `telemetry.record_question_text` allows it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from citewise.api.orchestration.providers.base import Call
from citewise.api.orchestration.providers.breaker import STATES
from citewise.settings import TelemetrySettings

TRACER = "citewise.orchestration"
_configured: set[str] = set()
_lock = threading.Lock()


def configure_tracing(settings: TelemetrySettings) -> None:
    """Export spans over OTLP/HTTP to `settings.otlp_endpoint` (once per process and endpoint)."""
    if not settings.otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    with _lock:
        if settings.otlp_endpoint in _configured:
            return
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):  # nothing installed yet: ours becomes the global one
            provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
            trace.set_tracer_provider(provider)
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint, timeout=5), schedule_delay_millis=500)
        )
        _configured.add(settings.otlp_endpoint)


def flush_tracing() -> None:
    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush(5000)


class TurnSpans:
    """The spans of one answer: a root `chat` span and a child per step, timed by the pipeline's own clock
    (a generator cannot hold a context manager open across the yields of a stream)."""

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.tracer = trace.get_tracer(TRACER)
        self.root = self.tracer.start_span("citewise.chat", attributes=attributes)
        self.context = trace.set_span_in_context(self.root)

    def step(
        self,
        name: str,
        start_ns: int,
        end_ns: int,
        attributes: dict[str, Any] | None = None,
        parent: Span | None = None,
    ) -> Span:
        context = trace.set_span_in_context(parent) if parent is not None else self.context
        span = self.tracer.start_span(name, context=context, start_time=start_ns, attributes=attributes or {})
        span.end(end_time=end_ns)
        return span

    def stages(self, parent: Span, start_ns: int, timings_ms: dict[str, float]) -> None:
        """Child spans laid end to end from a component's own stage timings (the retriever's)."""
        at = start_ns
        for stage, ms in timings_ms.items():
            if stage == "total":
                continue
            end = at + int(ms * 1e6)
            self.step(f"retrieval.{stage}", at, end, parent=parent)
            at = end

    def calls(self, calls: Iterable[Call], profile: str, cached: bool) -> None:
        for call in calls:
            for attempt in call.attempts:
                end = attempt.started_ns + int(attempt.seconds * 1e9)
                attrs = {
                    "llm.provider": call.provider,
                    "llm.profile": profile,
                    "llm.endpoint": attempt.endpoint,
                    "llm.outcome": attempt.outcome,
                    "llm.cache": "hit" if cached else "miss",
                }
                if attempt.outcome == "ok":
                    attrs |= {
                        "llm.prompt_tokens": call.usage.prompt_tokens,
                        "llm.completion_tokens": call.usage.completion_tokens,
                        "llm.cost": call.usage.cost,
                        "llm.usage_estimated": call.usage.estimated,
                    }
                span = self.tracer.start_span(
                    "llm.call", context=self.context, start_time=attempt.started_ns or None, attributes=attrs
                )
                if attempt.outcome != "ok":
                    span.set_status(Status(StatusCode.ERROR, attempt.error[:200]))
                span.end(end_time=end if attempt.started_ns else None)

    def end(self, attributes: dict[str, Any]) -> None:
        self.root.set_attributes(attributes)
        self.root.end()


class Telemetry:
    """The orchestration's Prometheus series, on the registry the HTTP layer serves at /metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.registry = r
        self.tokens = Counter("citewise_llm_tokens_total", "LLM tokens", ["profile", "endpoint", "kind"], registry=r)
        self.cost = Counter(
            "citewise_llm_cost_total", "LLM cost (endpoint prices)", ["profile", "endpoint"], registry=r
        )
        self.calls = Counter("citewise_llm_calls_total", "LLM attempts", ["profile", "endpoint", "outcome"], registry=r)
        self.call_seconds = Histogram(
            "citewise_llm_call_seconds",
            "LLM attempt latency (to the last token)",
            ["profile", "endpoint"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.cache = Counter("citewise_cache_requests_total", "cache lookups", ["cache", "result"], registry=r)
        self.refusals = Counter("citewise_refusals_total", "refused questions", ["reason"], registry=r)
        self.verdicts = Counter(
            "citewise_guardrail_verdicts_total", "guardrail verdicts", ["check", "action"], registry=r
        )

    def record_calls(self, profile: str, calls: Iterable[Call]) -> None:
        for call in calls:
            for attempt in call.attempts:
                self.calls.labels(profile, attempt.endpoint, attempt.outcome).inc()
                self.call_seconds.labels(profile, attempt.endpoint).observe(attempt.seconds)
            if call.endpoint and call.provider != "extractive":
                self.tokens.labels(profile, call.endpoint, "prompt").inc(call.usage.prompt_tokens)
                self.tokens.labels(profile, call.endpoint, "completion").inc(call.usage.completion_tokens)
                self.cost.labels(profile, call.endpoint).inc(call.usage.cost)

    def record_checks(self, checks: dict[str, str]) -> None:
        for check, action in checks.items():
            self.verdicts.labels(check, action).inc()

    def watch(self, endpoints: Callable[[], list[dict]], query_cache: Any | None = None) -> None:
        """Endpoint circuit state and load, and the query-vector cache, read when /metrics is scraped."""
        self.registry.register(_LiveCollector(endpoints, query_cache))


class _LiveCollector(Collector):
    def __init__(self, endpoints: Callable[[], list[dict]], query_cache: Any | None) -> None:
        self.endpoints, self.query_cache = endpoints, query_cache

    def collect(self):  # noqa: ANN201
        state = GaugeMetricFamily(
            "citewise_endpoint_circuit_state", "0 closed, 1 half-open, 2 open", labels=["profile", "endpoint"]
        )
        flight = GaugeMetricFamily("citewise_endpoint_in_flight", "requests in flight", labels=["profile", "endpoint"])
        for row in self.endpoints():
            state.add_metric([row["profile"], row["endpoint"]], STATES[row["state"]])
            flight.add_metric([row["profile"], row["endpoint"]], row["outstanding"])
        yield state
        yield flight
        if self.query_cache is not None:
            cache = GaugeMetricFamily(
                "citewise_query_vector_cache_lookups", "query-vector cache lookups", labels=["result"]
            )
            cache.add_metric(["hit"], self.query_cache.hits)
            cache.add_metric(["miss"], self.query_cache.misses)
            yield cache


def now_ns() -> int:
    return time.time_ns()
