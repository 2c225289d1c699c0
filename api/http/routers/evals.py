"""Eval runs (admin): past retrieval evals with their tables and plots, and new ones started as background
runs on a configured dataset (`evals.datasets`) or on an uploaded BEIR dataset (three files)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.errors import InvalidInputError
from citewise.evals.runs import UPLOAD_LIMIT, EvalRun

router = APIRouter(tags=["evals"])


class EvalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=200, description="a name from evals.datasets")
    split: str = Field("test", pattern=r"^[A-Za-z0-9_-]{1,40}$")


@router.get("/v1/evals", responses=documented(403))
def list_evals(caller: Caller, services: ServicesDep) -> dict:
    require_admin(caller, "reading eval runs")
    return {"runs": services.evals.list(caller.tenant), "datasets": sorted(services.evals.datasets())}


@router.get("/v1/evals/runs/{run_id}", responses=documented(403, 404))
def get_eval(run_id: str, caller: Caller, services: ServicesDep) -> EvalRun:
    require_admin(caller, "reading eval runs")
    return services.evals.get(caller.tenant, run_id)


@router.get("/v1/evals/runs/{run_id}/plot", responses={200: {"content": {"image/png": {}}}, **documented(403, 404)})
def get_eval_plot(run_id: str, caller: Caller, services: ServicesDep) -> FileResponse:
    require_admin(caller, "reading eval runs")
    return FileResponse(services.evals.plot(caller.tenant, run_id), media_type="image/png")


@router.post("/v1/evals", status_code=202, responses=documented(400, 403))
def start_eval(body: EvalBody, caller: Caller, services: ServicesDep) -> EvalRun:
    """A retrieval eval (dense, sparse, hybrid) of a configured dataset, run in the background."""
    require_admin(caller, "starting eval runs")
    return services.evals.start_configured(caller.tenant, body.dataset, body.split)


@router.post("/v1/evals/upload", status_code=202, responses=documented(400, 403, 422))  # 400: unreadable multipart
def start_uploaded_eval(
    caller: Caller,
    services: ServicesDep,
    corpus: Annotated[UploadFile, File(description="corpus.jsonl: _id, title, text per line")],
    queries: Annotated[UploadFile, File(description="queries.jsonl: _id, text per line")],
    qrels: Annotated[UploadFile, File(description="qrels TSV: query-id, corpus-id, score")],
    name: Annotated[str, Form(max_length=200)] = "uploaded",
) -> EvalRun:
    require_admin(caller, "starting eval runs")
    parts = []
    for upload in (corpus, queries, qrels):
        data = upload.file.read(UPLOAD_LIMIT + 1)
        if len(data) > UPLOAD_LIMIT:
            raise InvalidInputError(f"{upload.filename}: over {UPLOAD_LIMIT:,} bytes")
        parts.append(data)
    return services.evals.start_uploaded(caller.tenant, name, *parts)
