"""Documents: upload one file (ingested before the answer), list what the caller may see, delete (admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.errors import NotFoundError
from citewise.ingest.documents import DocumentPassages, Passage, UploadJob
from citewise.ingest.viewer import PageView, render_pdf_page

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


class DocumentView(BaseModel):
    doc_id: str
    title: str
    uri: str
    format: Literal["pdf", "text"]
    passages: list[Passage]


@router.get("/v1/documents/{doc_id}/view", responses=documented(404))
def document_view(doc_id: str, caller: Caller, services: ServicesDep) -> DocumentView:
    """What the viewer opens: the passages, and whether the pages can be shown as the PDF renders them."""
    doc = services.documents.passages(caller, doc_id)
    pdf = services.documents.source_pdf(caller, doc_id)
    return DocumentView(doc_id=doc.doc_id, title=doc.title, uri=doc.uri, format="pdf" if pdf else "text",
                        passages=doc.passages)  # fmt: skip


@router.get("/v1/documents/{doc_id}/pages/{page}", responses=documented(400, 404))
def document_page(
    doc_id: str,
    caller: Caller,
    services: ServicesDep,
    page: Annotated[int, Path(ge=1, le=100_000)],
    quote: Annotated[str, Query(max_length=5000)] = "",
) -> PageView:
    """A PDF page as a PNG, the quote's characters highlighted on it (found in the page's text layer)."""
    pdf = services.documents.source_pdf(caller, doc_id)
    if pdf is None:
        raise NotFoundError(f"document {doc_id!r} has no PDF pages to show")
    return render_pdf_page(pdf, page, quote)
