"""A circuit breaker per endpoint: open after consecutive failures, one half-open probe after a cool-down.

closed --(N failures in a row)--> open --(cool-down passed, one request let through)--> half_open
half_open --success--> closed;  half_open --failure--> open (the cool-down starts again)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

STATES = {"closed": 0, "half_open": 1, "open": 2}  # the gauge value in metrics


class CircuitBreaker:
    def __init__(self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.state = "closed"
        self.failures = 0  # consecutive
        self.opened_at = 0.0
        self.probing = False  # a half-open probe is in flight
        self.opened_count = 0
        self._lock = threading.Lock()

    def available(self) -> bool:
        """May a request go to this endpoint now? (Does not claim the probe; `claim` does.)"""
        with self._lock:
            if self.state == "closed":
                return True
            if self.state == "open":
                return self.clock() - self.opened_at >= self.cooldown_s
            return not self.probing

    def claim(self) -> None:
        """A request is being sent: past the cool-down it becomes the one half-open probe."""
        with self._lock:
            if self.state == "open" and self.clock() - self.opened_at >= self.cooldown_s:
                self.state = "half_open"
            if self.state == "half_open":
                self.probing = True

    def success(self) -> None:
        with self._lock:
            self.state, self.failures, self.probing = "closed", 0, False

    def release(self) -> None:
        """An attempt ended without a verdict on the endpoint (the caller went away): free the probe."""
        with self._lock:
            self.probing = False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            self.probing = False
            if self.state == "half_open" or self.failures >= self.threshold:
                if self.state != "open":
                    self.opened_count += 1
                self.state, self.opened_at = "open", self.clock()

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a probe through (0 when not open)."""
        with self._lock:
            if self.state != "open":
                return 0.0
            return max(0.0, self.cooldown_s - (self.clock() - self.opened_at))
