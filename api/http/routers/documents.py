"""Documents: upload one file (ingested before the answer), list what the caller may see, delete (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented

router = APIRouter(tags=["documents"])


@router.post("/v1/documents", status_code=201, responses=documented(400, 403, 413))
def upload(
    caller: Caller,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="the document")],
    acl: Annotated[list[str] | None, Form(description="user:U or group:G; none = everyone in the tenant")] = None,
) -> dict:
    uploaded = services.documents.upload(caller, file.filename or "upload", file.file, acl or [])
    return uploaded.model_dump()


@router.get("/v1/documents", responses=documented())
def list_documents(caller: Caller, services: ServicesDep, limit: int = 100) -> dict:
    docs = [d.model_dump() for d in services.documents.list(caller, limit=limit)]
    return {"documents": docs, "count": len(docs)}


@router.delete("/v1/documents/{doc_id}", responses=documented(403, 404))
def delete_document(doc_id: str, caller: Caller, services: ServicesDep) -> dict:
    services.documents.require_visible(caller, doc_id)  # 404 first: a hidden document's id is not confirmed
    require_admin(caller, "deleting documents")
    services.documents.delete(caller.tenant, doc_id)
    return {"deleted": doc_id}
