"""OpenTelemetry spans of an answer: kept by the SDK's in-memory exporter, and exported over OTLP/HTTP to a
real receiver started here (it decodes the protobuf ExportTraceServiceRequest the exporter sends)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from citewise.api.orchestration.telemetry import configure_tracing, flush_tracing
from citewise.settings import TelemetrySettings
from tests.api.client import ask


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        outer.spans.extend(scope.spans)
                body = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/traces"


def test_an_answer_is_traced_step_by_step_and_exported_over_otlp(env):
    client, keys, _ = env
    receiver = OtlpReceiver()
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    configure_tracing(TelemetrySettings(otlp_endpoint=receiver.url))  # stays up: later spans export here too
    out = ask(client, keys, "bob", "Which adults benefit most from vitamin D supplements?", profile="counted")
    spans = memory.get_finished_spans()
    root = next(s for s in spans if s.name == "citewise.chat" and s.attributes["trace_id"] == out["trace_id"])
    mine = [s for s in spans if s.context.trace_id == root.context.trace_id]
    names = {s.name for s in mine}
    steps = {"input_guard", "memory", "retrieve", "evidence", "prompt", "cache", "generate", "output_guard", "cite"}
    assert steps | {"retrieval.embed", "retrieval.search", "llm.call"} <= names
    assert "citewise.question" not in root.attributes  # question text only when a setting allows it
    call = next(s for s in mine if s.name == "llm.call")
    assert call.attributes["llm.endpoint"] == out["endpoint"] and call.attributes["llm.prompt_tokens"] == 120
    assert call.attributes["llm.outcome"] == "ok" and call.attributes["llm.cache"] == "miss"
    stage = next(s for s in mine if s.name == "retrieval.search")
    assert stage.parent.span_id == next(s for s in mine if s.name == "retrieve").context.span_id
    flush_tracing()
    exported = {s.name for s in receiver.spans if s.trace_id == root.context.trace_id.to_bytes(16, "big")}
    assert {"citewise.chat", "retrieve", "llm.call"} <= exported
