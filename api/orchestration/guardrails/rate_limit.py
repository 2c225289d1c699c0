"""The per-key rate limit; it runs at authentication, so the HTTP layer can answer 429."""

from __future__ import annotations

import threading
import time
from collections import deque

from citewise.api.orchestration.guardrails.base import Verdict


class RateLimit:
    """Sliding one-minute window per API key, in process (the scale-out profile would move it to Redis)."""

    name = "rate_limit"

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def run(self, question: str, key_id: str) -> Verdict:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key_id, deque())
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                retry = max(1, int(60 - (now - hits[0])) + 1)  # when the oldest request leaves the window
                detail = f"more than {self.per_minute} requests a minute for this key"
                return Verdict(self.name, "block", detail, retry_after_s=retry)
            hits.append(now)
        return Verdict(self.name, "pass")
