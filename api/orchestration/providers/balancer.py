"""Picks the endpoint for the next attempt: least outstanding requests per unit of weight, among endpoints
whose circuit lets requests through and that have a free slot (`max_concurrency`).

When circuits are closed but every slot is taken, a request waits up to `queue_timeout_s` for one, then
fails with SaturatedError (HTTP 503 + Retry-After): never an unbounded queue.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from citewise.api.orchestration.providers.breaker import CircuitBreaker
from citewise.errors import ProviderError, SaturatedError
from citewise.redact import redact_secrets
from citewise.settings import Endpoint


@dataclass
class Slot:
    """One endpoint's live state."""

    name: str
    endpoint: Endpoint
    breaker: CircuitBreaker
    outstanding: int = 0
    served: int = 0
    errors: int = 0
    seconds: float = 0.0  # summed latency of successful calls
    extra: dict = field(default_factory=dict)  # the transport's own per-endpoint objects (an HTTP client)

    def health(self) -> dict:
        return {
            "endpoint": self.name,
            "state": self.breaker.state,
            "outstanding": self.outstanding,
            "max_concurrency": self.endpoint.max_concurrency,
            "served": self.served,
            "errors": self.errors,
            "circuit_opened": self.breaker.opened_count,
        }


def endpoint_name(endpoint: Endpoint) -> str:
    """How an endpoint is named in results, metrics and errors: its URL without credentials."""
    return redact_secrets(endpoint.base_url.rstrip("/"))


class Balancer:
    def __init__(self, endpoints: list[Endpoint], *, failures: int, cooldown_s: float, queue_timeout_s: float) -> None:
        self.slots = [Slot(endpoint_name(e), e, CircuitBreaker(failures, cooldown_s)) for e in endpoints]
        self.queue_timeout_s = queue_timeout_s
        self._cond = threading.Condition()

    def acquire(self, avoid: set[str] = frozenset(), deadline: float | None = None) -> Slot:  # type: ignore[assignment]
        """The slot for the next attempt, its outstanding count already raised; `release` it afterwards.

        Endpoints in `avoid` (failed earlier in this request) are used only when nothing else can serve."""
        give_up = time.monotonic() + self.queue_timeout_s
        if deadline is not None:
            give_up = min(give_up, deadline)
        with self._cond:
            while True:
                open_ = [s for s in self.slots if s.breaker.available()]
                if not open_:
                    wait = min(s.breaker.retry_in() for s in self.slots)
                    raise ProviderError(f"every endpoint's circuit is open (next probe in {wait:.1f} s)")
                free = [s for s in open_ if s.outstanding < s.endpoint.max_concurrency]
                preferred = [s for s in free if s.name not in avoid] or free
                if preferred:
                    slot = min(preferred, key=lambda s: ((s.outstanding + 1) / s.endpoint.weight, s.served))
                    slot.breaker.claim()
                    slot.outstanding += 1
                    return slot
                left = give_up - time.monotonic()
                if left <= 0:
                    busy = sum(s.outstanding for s in self.slots)
                    raise SaturatedError(
                        f"every model server is busy ({busy} requests in flight); retry shortly",
                        retry_after=max(1.0, self.queue_timeout_s),
                    )
                self._cond.wait(left)

    def release(self, slot: Slot, *, ok: bool | None, seconds: float = 0.0) -> None:
        """`ok` None: the attempt says nothing about the endpoint's health (the caller went away)."""
        with self._cond:
            slot.outstanding -= 1
            if ok is True:
                slot.served += 1
                slot.seconds += seconds
                slot.breaker.success()
            elif ok is False:
                slot.errors += 1
                slot.breaker.failure()
            else:
                slot.breaker.release()
            self._cond.notify_all()

    def saturated(self) -> bool:
        """Every endpoint that could serve has no free slot right now (a cheap check before a stream starts)."""
        with self._cond:
            open_ = [s for s in self.slots if s.breaker.available()]
            return bool(open_) and all(s.outstanding >= s.endpoint.max_concurrency for s in open_)
