"""Human review: POST /v1/feedback (any key, on its own answers); the review queue (admin keys):
GET /v1/review, POST /v1/review/{id}/resolve, GET /v1/review/export (a QA file for `citewise eval answers`)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.api.orchestration.review import ReviewItem

router = APIRouter(tags=["review"])


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trace_id: str = Field(min_length=1, max_length=64, description="the answer's trace_id")
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=5000)


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_answer: str | None = Field(None, max_length=20_000, description="what the answer should have said")
    should_refuse: StrictBool = Field(False, description="the question should have been refused")
    note: str = Field("", max_length=5000)


@router.post("/v1/feedback", status_code=201, responses=documented(400, 404))
def feedback(body: FeedbackBody, caller: Caller, services: ServicesDep) -> dict:
    services.review.feedback(caller, body.trace_id, body.rating, body.comment)
    return {"trace_id": body.trace_id, "rating": body.rating}


@router.get("/v1/review", responses=documented(403))
def review_queue(
    caller: Caller,
    services: ServicesDep,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReviewItem]:
    require_admin(caller, "reading the review queue")
    return services.review.items(caller.tenant, None if status == "all" else status, limit)


@router.post("/v1/review/{item_id}/resolve", responses=documented(400, 403, 404))
def resolve(item_id: int, body: ResolveBody, caller: Caller, services: ServicesDep) -> ReviewItem:
    require_admin(caller, "resolving review items")
    return services.review.resolve(
        caller.tenant, item_id, expected_answer=body.expected_answer, should_refuse=body.should_refuse, note=body.note
    )


@router.get(
    "/v1/review/export",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}, **documented(403)},
)
def export(caller: Caller, services: ServicesDep) -> PlainTextResponse:
    require_admin(caller, "exporting the review queue")
    lines = "".join(json.dumps(row) + "\n" for row in services.review.export(caller.tenant))
    return PlainTextResponse(lines, media_type="application/x-ndjson")
