"""Index administration: switch the collection's dense encoder (re-embedding the stored chunks in the
background while the current generation keeps answering) and follow its progress."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.retrieval.generations import Generation

router = APIRouter(tags=["admin"])


class ReindexBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoder: str = Field(min_length=1, max_length=64, description="encoder registry name: e5, openvino, ...")


def _view(g: Generation, running: bool) -> dict:
    return {
        "collection": g.collection,
        "encoder": g.encoder,
        "status": g.status,
        "running": running,
        "target_encoder": g.target_encoder,
        "done": g.done,
        "total": g.total,
        "error": g.error,
    }


@router.post(
    "/v1/admin/reindex", status_code=202, responses=documented(400, 403, 409, 422)
)  # 400: a body that is not JSON
def post_reindex(body: ReindexBody, caller: Caller, services: ServicesDep) -> dict:
    """Re-embed every chunk with `encoder` into a new collection, then swap; nothing is fetched or parsed."""
    require_admin(caller, "reindexing the collection")
    return _view(services.reindexer.start(body.encoder), True)


@router.get("/v1/admin/reindex", responses=documented(403))
def get_reindex(caller: Caller, services: ServicesDep) -> dict:
    require_admin(caller, "reading the reindex progress")
    return _view(services.reindexer.status(), services.reindexer.running)
