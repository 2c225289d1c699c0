"""Trace ids, structured JSON logs with PII and keys redacted, and Prometheus metrics."""

from __future__ import annotations

import contextvars
import json
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram

from citewise.redact import redact_pii

trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; message and extra fields pass through PII/key redaction."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "trace_id": trace_id_var.get(),
            "msg": redact_pii(record.getMessage())[0],
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            payload.update({k: redact_pii(v)[0] if isinstance(v, str) else v for k, v in extra.items()})
        if record.exc_info:
            payload["error"] = redact_pii(self.formatException(record.exc_info))[0]
        return json.dumps(payload, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("citewise", "uvicorn", "uvicorn.error"):  # the server's own messages are redacted too
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level if name == "citewise" else logging.WARNING)
        logger.propagate = False


class RequestSeries:
    """Requests per minute over the last day (count, errors, a capped latency sample per minute), kept in
    memory for the dashboard's charts: no Prometheus needed. Health probes and the UI's files are left out."""

    MINUTES, SAMPLES = 24 * 60, 2000
    SKIP = ("/healthz", "/readyz", "/metrics", "/", "/ui/{path:path}", "unmatched")

    def __init__(self) -> None:
        import collections
        import threading

        self._lock = threading.Lock()
        self._buckets: collections.OrderedDict[int, dict] = collections.OrderedDict()

    def add(self, route: str, status: int, seconds: float) -> None:
        if route in self.SKIP:
            return
        minute = int(time.time() // 60)
        with self._lock:
            bucket = self._buckets.get(minute)
            if bucket is None:
                bucket = self._buckets[minute] = {"requests": 0, "errors": 0, "client_errors": 0, "ms": []}
                while len(self._buckets) > self.MINUTES:
                    self._buckets.popitem(last=False)
            bucket["requests"] += 1
            bucket["errors"] += status >= 500
            bucket["client_errors"] += 400 <= status < 500
            if len(bucket["ms"]) < self.SAMPLES:
                bucket["ms"].append(seconds * 1000)

    def window(self, start_minute: int, end_minute: int) -> dict[int, dict]:
        with self._lock:
            return {m: {**b, "ms": list(b["ms"])} for m, b in self._buckets.items() if start_minute <= m <= end_minute}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("citewise_requests_total", "HTTP requests", ["route", "status"], registry=self.registry)
        self.latency = Histogram(
            "citewise_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.answers = Counter("citewise_answers_total", "chat answers by outcome", ["outcome"], registry=self.registry)

        self.minutes = RequestSeries()

    def observe(self, route: str, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        self.minutes.add(route, status, seconds)
