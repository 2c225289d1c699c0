"""GET /v1/dashboard (admin): what the LLMOps dashboard charts, from the server's own records: HTTP requests
per minute (in memory, `RequestSeries`), answers from the audit log (outcome, profile, tokens, cost, cache,
flags), endpoint health from the gateway, job throughput from the job table."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter
from sqlalchemy import select

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.db import utcnow

router = APIRouter(tags=["dashboard"])
WINDOWS = {"hour": (60, 1), "day": (24 * 60, 30)}  # minutes shown, minutes per bucket


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 2)


@router.get("/v1/dashboard", responses=documented(403))
def dashboard(caller: Caller, services: ServicesDep, window: Literal["hour", "day"] = "hour") -> dict:
    require_admin(caller, "reading the dashboard")
    from citewise.api.orchestration.audit import AuditRow

    span, step = WINDOWS[window]
    now_minute = int(time.time() // 60)
    first = now_minute - span + 1
    minutes = services.metrics.minutes.window(first, now_minute)
    series = []
    for start in range(first, now_minute + 1, step):
        rows = [minutes[m] for m in range(start, start + step) if m in minutes]
        ms = [x for r in rows for x in r["ms"]]
        series.append({"t": start * 60, "requests": sum(r["requests"] for r in rows),
                       "errors": sum(r["errors"] for r in rows), "client_errors": sum(r["client_errors"] for r in rows),
                       "p50_ms": _percentile(ms, 50), "p95_ms": _percentile(ms, 95)})  # fmt: skip
    cutoff = utcnow() - timedelta(minutes=span)
    with services.db() as s:
        answers = list(s.scalars(select(AuditRow).where(AuditRow.tenant == caller.tenant, AuditRow.at >= cutoff)))
    by_profile: dict[str, dict] = defaultdict(lambda: {"answers": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                                       "cost": 0.0})  # fmt: skip
    outcomes, flags, answer_series = Counter(), Counter(), Counter()
    for row in answers:
        p = by_profile[row.profile or "-"]
        p["answers"] += 1
        p["prompt_tokens"] += row.prompt_tokens
        p["completion_tokens"] += row.completion_tokens
        p["cost"] = round(p["cost"] + row.cost, 6)
        outcomes[row.outcome] += 1
        flags.update(json.loads(row.flags or "[]"))
        answer_series[(int(row.at.timestamp() // 60) - first) // step] += 1
    for i, point in enumerate(series):
        point["answers"] = answer_series.get(i, 0)
    total = len(answers)
    jobs = [
        j for j in services.jobs.jobs(tenant=caller.tenant, limit=1000) if j.finished_at and j.finished_at >= cutoff
    ]
    return {
        "window": window,
        "bucket_s": step * 60,
        "series": series,
        "answers": total,
        "outcomes": dict(outcomes),
        "refusal_rate": round(outcomes.get("refused", 0) / total, 4) if total else None,
        "cache_hit_rate": round(sum(r.cached for r in answers) / total, 4) if total else None,
        "profiles": dict(by_profile),
        "flags": dict(flags.most_common(20)),
        "endpoints": services.pipeline.health(),
        "jobs": {
            "finished": len(jobs),
            "failed": sum(j.status == "failed" for j in jobs),
            "items": sum(j.done for j in jobs),
            "items_per_s": round(
                sum(j.done for j in jobs)
                / max(1.0, sum(((j.finished_at - j.started_at).total_seconds() for j in jobs if j.started_at), 0.0)),
                2,
            ),
        },
    }
