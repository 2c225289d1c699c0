"""Documents: upload one file (ingested before the answer), list what the caller may see, delete (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.ingest.documents import DocumentPassages, UploadJob

router = APIRouter(tags=["documents"])


QUEUED: dict[int | str, dict] = {
    202: {"model": UploadJob, "description": "queued (a big file, or others waiting): poll GET /v1/uploads/{upload_id}"}
}


@router.post("/v1/documents", status_code=201, responses={**QUEUED, **documented(400, 403, 413)})
def upload(
    caller: Caller,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="the document")],
    acl: Annotated[list[str] | None, Form(description="user:U or group:G; none = everyone in the tenant")] = None,
) -> Any:
    uploaded = services.documents.upload(caller, file.filename or "upload", file.file, acl or [])
    if isinstance(uploaded, UploadJob):
        return JSONResponse(uploaded.model_dump(), status_code=202)
    return uploaded.model_dump()


@router.get("/v1/uploads/{upload_id}", response_model=UploadJob, responses=documented(404))
def upload_status(upload_id: str, caller: Caller, services: ServicesDep) -> UploadJob:
    """A queued upload: queued, running, succeeded (with its doc_id) or failed (with the reason)."""
    return services.documents.upload_job(caller, upload_id)


@router.get("/v1/documents", responses=documented())
def list_documents(caller: Caller, services: ServicesDep, limit: int = 100) -> dict:
    docs = [d.model_dump() for d in services.documents.list(caller, limit=limit)]
    return {"documents": docs, "count": len(docs)}


@router.get("/v1/documents/{doc_id}/passages", responses=documented(404))
def document_passages(doc_id: str, caller: Caller, services: ServicesDep) -> DocumentPassages:
    """The document's passages in order, if the key may read it (another principal's is a 404)."""
    return services.documents.passages(caller, doc_id)


@router.delete("/v1/documents/{doc_id}", responses=documented(403, 404))
def delete_document(doc_id: str, caller: Caller, services: ServicesDep) -> dict:
    services.documents.require_visible(caller, doc_id)  # 404 first: a hidden document's id is not confirmed
    require_admin(caller, "deleting documents")
    services.documents.delete(caller.tenant, doc_id)
    return {"deleted": doc_id}
