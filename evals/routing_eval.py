"""Routing accuracy per route on a labelled set, and the latency the router adds.

    citewise eval routing tests/fixtures/routing.jsonl

Each line is `{question, route}`. The router's prototypes (`api/orchestration/routing/examples.json`) are
not in the set. Latency: `route_ms` is the router alone on a question vector (what the pipeline adds: the
vector is the one retrieval uses, from the query-vector cache); `embed_ms` is the encoder, for reference.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from citewise.errors import DatasetError
from citewise.evals.common import p50_p95
from citewise.settings import Settings


def run_routing_eval(path: Path, *, settings: Settings | None = None, log: Callable[[str], None] = print) -> dict:
    from citewise.api.orchestration.routing import ROUTES, Router
    from citewise.retrieval.encoders.dense import load_dense_encoder

    settings = settings or Settings()
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: {exc}") from exc
    if unknown := {r.get("route") for r in rows} - set(ROUTES):
        raise DatasetError(f"{path}: unknown routes {sorted(map(str, unknown))}; known: {', '.join(ROUTES)}")
    encoder = load_dense_encoder(settings.embedding)
    router = Router(settings.router, encoder.embed_documents)
    router.route("warm up", encoder.embed_query("warm up"), "default")
    confusion: Counter[tuple[str, str]] = Counter()
    route_ms, embed_ms, mistakes = [], [], []
    for row in rows:
        t = time.perf_counter()
        vector = encoder.embed_query(row["question"])
        embed_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        got = router.route(row["question"], vector, "default")
        route_ms.append((time.perf_counter() - t) * 1000)
        confusion[(row["route"], got.name)] += 1
        if got.name != row["route"]:
            mistakes.append({"question": row["question"], "expected": row["route"], "got": got.name})
    per_route = {}
    for route in ROUTES:
        total = sum(n for (want, _), n in confusion.items() if want == route)
        if total:
            per_route[route] = {"questions": total, "accuracy": round(confusion[(route, route)] / total, 4)}
    log(f"{len(rows)} questions routed")
    return {
        "questions": len(rows),
        "accuracy": round(sum(confusion[(r, r)] for r in ROUTES) / len(rows), 4),
        "per_route": per_route,
        "confusion": {f"{want}->{got}": n for (want, got), n in sorted(confusion.items()) if want != got},
        "route_ms": p50_p95(route_ms),
        "embed_ms": p50_p95(embed_ms),
        "mistakes": mistakes,
    }
