"""POST /v1/search: the retriever (mode, reranker, filters, shaping) as the key's principal."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from citewise.api.http.deps import Caller, ServicesDep
from citewise.api.http.errors import documented
from citewise.models import Number
from citewise.retrieval.retriever import RetrievalRequest, SearchFilters
from citewise.retrieval.stores.base import SearchMode

router = APIRouter(tags=["search"])


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=8000)
    k: StrictInt = Field(10, ge=1, le=200)
    mode: SearchMode | None = None
    reranker: str | None = None
    filters: SearchFilters = Field(default_factory=SearchFilters)
    max_per_doc: StrictInt | None = Field(None, ge=1)
    mmr_lambda: Number | None = Field(None, ge=0, le=1)
    neighbours: StrictInt | None = Field(None, ge=0, le=5)


@router.post("/v1/search", responses=documented(400))
def search(body: SearchBody, caller: Caller, services: ServicesDep) -> dict:
    result = services.retriever.run(RetrievalRequest(principal=caller, **body.model_dump()))
    return result.model_dump()
