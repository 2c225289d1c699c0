"""Small helpers the benchmarks share: percentiles as printed, and a free loopback port for servers."""

from __future__ import annotations

import socket

import numpy as np


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def p50_p95(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 50), "p95": pct(values, 95)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
