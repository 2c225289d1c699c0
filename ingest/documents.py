"""Operations on single documents: upload one file (now, or queued when big), list what a principal may see,
delete one document.

The HTTP routes only translate to and from these; the checks (ACL grants, size limit, visibility) live here.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.connectors.filesystem import FilesystemConnector
from citewise.db import Base, init_db, timestamp, utcnow
from citewise.errors import CitewiseError, InvalidInputError, NotFoundError, PermissionDeniedError, TooLargeError
from citewise.identity import Identity
from citewise.ingest.pipeline import Ingestor, doc_id_for
from citewise.ingest.recovery import recover_pending
from citewise.models import PUBLIC, Principal
from citewise.redact import redact_secrets
from citewise.retrieval.retriever import permission_filter
from citewise.retrieval.stores.base import Filter
from citewise.settings import Settings

READ_CHUNK = 1 << 20
NAME_BYTES = 200  # well under every file system's 255-byte name limit
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_filename(name: str) -> str:
    """One safe path component from a client's file name: no separators, control characters or leading
    dots, at most NAME_BYTES of UTF-8, the extension kept (it selects the parser); "upload" if nothing is left."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    ext = ext if dot and 0 < len(ext) <= 16 and ext.isalnum() else ""
    stem = stem if dot and ext else name
    budget = NAME_BYTES - len(ext.encode()) - 1
    stem = stem.encode()[:budget].decode("utf-8", "ignore").strip() or "upload"
    return f"{stem}.{ext}" if ext else stem


class UploadedDocument(BaseModel):
    doc_id: str
    title: str
    filename: str
    chunks: int
    acl: list[str]


class UploadRow(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    filename: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    acl: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    doc_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = timestamp()
    finished_at: Mapped[datetime | None] = timestamp(nullable=True)


class UploadJob(BaseModel):
    """An upload ingested in the background: its state, and its document once done."""

    upload_id: str
    filename: str
    status: str
    doc_id: str | None = None
    chunks: int = 0
    error: str | None = None


class Passage(BaseModel):
    chunk_id: str
    chunk_index: int
    page: int | None
    text: str


class DocumentPassages(BaseModel):
    doc_id: str
    title: str
    uri: str
    passages: list[Passage]


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    uri: str
    source: str
    modified_at: str | None
    acl: list[str]


class DocumentService:
    """Single-document operations on the index one process holds (uploads share its write lock)."""

    def __init__(self, settings: Settings, ingestor: Ingestor, write_lock: threading.Lock) -> None:
        self.settings = settings
        self.ingestor = ingestor
        self.write_lock = write_lock
        self._queue = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewise-upload")
        self._queued = 0  # uploads waiting or running in the background
        self._count_lock = threading.Lock()

    @cached_property
    def _db(self) -> sessionmaker:
        return init_db(self.settings.db_url)

    def _check_acl(self, caller: Identity, acl: list[str]) -> list[str]:
        acl = [a for a in acl if a]
        for entry in acl:
            if not (entry.startswith(("user:", "group:")) and len(entry.split(":", 1)[1]) > 0):
                raise InvalidInputError(f"acl entry {entry!r}: use user:NAME or group:NAME")
            if not caller.admin and entry not in caller.acl_principals():
                raise PermissionDeniedError(f"only an admin key may grant {entry!r}")
        return acl

    def upload(self, caller: Identity, filename: str, stream: BinaryIO, acl: list[str]) -> UploadedDocument | UploadJob:
        """Store the file under the caller's tenant (size limit enforced while reading), then ingest it: now,
        if it is small and no other upload is waiting; else in the background (an UploadJob to poll), so an
        upload never waits behind another in the request."""
        acl = self._check_acl(caller, acl)
        name = safe_filename(filename or "upload")
        target, size = self._store(caller.tenant, name, stream)
        with self._count_lock:
            background = size > self.settings.api.inline_upload_mb * 2**20 or self._queued > 0
            if background:
                self._queued += 1
        if not background:
            return self._ingest(caller.tenant, target, acl)
        job_id = str(uuid.uuid4())
        with self._db.begin() as s:
            s.add(UploadRow(id=job_id, tenant=caller.tenant, filename=name, path=str(target),
                            acl=json.dumps(acl), status="queued"))  # fmt: skip
        self._queue.submit(self._run_job, job_id, caller.tenant, target, acl)
        return UploadJob(upload_id=job_id, filename=name, status="queued")

    def _store(self, tenant: str, name: str, stream: BinaryIO) -> tuple[Path, int]:
        limit_mb = self.settings.api.max_upload_mb
        folder = self.uploads_dir / tenant / uuid.uuid4().hex
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        size = 0
        with target.open("wb") as out:
            while chunk := stream.read(READ_CHUNK):
                size += len(chunk)
                if size > limit_mb * 1024 * 1024:
                    out.close()
                    shutil.rmtree(folder, ignore_errors=True)
                    raise TooLargeError(f"file is over the {limit_mb:g} MB upload limit")
                out.write(chunk)
        return target, size

    def _run_job(self, job_id: str, tenant: str, target: Path, acl: list[str]) -> None:
        self._set(job_id, status="running")
        try:
            done = self._ingest(tenant, target, acl)
            self._set(job_id, status="succeeded", doc_id=done.doc_id, chunks=done.chunks, finished_at=utcnow())
        except Exception as exc:  # noqa: BLE001 - the job row reports it; the queue goes on
            message = str(exc) if isinstance(exc, CitewiseError) else f"internal: {type(exc).__name__}"
            self._set(job_id, status="failed", error=redact_secrets(message), finished_at=utcnow())
        finally:
            with self._count_lock:
                self._queued -= 1

    def _set(self, job_id: str, **fields: object) -> None:
        with self._db.begin() as s:
            row = s.get(UploadRow, job_id)
            for key, value in fields.items():
                setattr(row, key, value)

    def upload_job(self, principal: Principal, job_id: str) -> UploadJob:
        with self._db() as s:
            row = s.get(UploadRow, job_id)
            if row is None or row.tenant != principal.tenant:
                raise NotFoundError(f"no upload {job_id!r} in this tenant")
            return UploadJob(upload_id=row.id, filename=row.filename, status=row.status, doc_id=row.doc_id,
                             chunks=row.chunks, error=row.error)  # fmt: skip

    def close(self) -> None:
        self._queue.shutdown(wait=True)

    def _ingest(self, tenant: str, target: Path, acl: list[str]) -> UploadedDocument:
        folder, name = target.parent, target.name
        connector = FilesystemConnector(path=target, acl=acl or None)
        with self.write_lock:
            try:
                report = self.ingestor.sync(connector, tenant=tenant)
            except Exception:  # a full disk, a lost index: nothing of the file stays behind
                recover_pending(self.ingestor.store, self.ingestor.state, source_id=connector.source_id)
                shutil.rmtree(folder, ignore_errors=True)
                raise
        doc_id = doc_id_for(self.ingestor.collection, tenant, str(target))
        if report.failed:
            with self.write_lock:
                self.ingestor.state.remove([doc_id])
            shutil.rmtree(folder, ignore_errors=True)
            raise InvalidInputError(f"{name}: {report.errors[0].error}")
        return UploadedDocument(
            doc_id=doc_id, title=Path(name).stem, filename=name, chunks=report.chunks, acl=acl or [PUBLIC]
        )

    def list(self, principal: Principal, limit: int = 100) -> list[DocumentInfo]:
        """The documents the principal may see (one row per document: its first chunk)."""
        flt = permission_filter(principal)
        flt.match = {"chunk_index": 0}
        points = self.ingestor.store.scroll(flt, limit=max(1, min(limit, 10_000)))
        return [
            DocumentInfo(
                doc_id=p.payload.doc_id,
                title=p.payload.title,
                uri=p.payload.path,
                source=p.payload.source,
                modified_at=p.payload.modified_at,
                acl=p.payload.acl,
            )
            for p in points
        ]

    def passages(self, principal: Principal, doc_id: str, limit: int = 1000) -> DocumentPassages:
        """A document's chunks in order, for a principal that may read it (else not found, as for search)."""
        visible = permission_filter(principal)
        visible.match = {"doc_id": doc_id}
        points = self.ingestor.store.scroll(visible, limit=max(1, min(limit, 10_000)))
        if not points:
            raise NotFoundError(f"no document {doc_id!r} visible to this key")
        points.sort(key=lambda p: p.payload.chunk_index or 0)
        first = points[0].payload
        return DocumentPassages(
            doc_id=doc_id,
            title=first.title,
            uri=first.path,
            passages=[
                Passage(chunk_id=p.id, chunk_index=p.payload.chunk_index or 0, page=p.payload.page, text=p.payload.text)
                for p in points
            ],
        )

    def source_pdf(self, principal: Principal, doc_id: str) -> Path | None:
        """The PDF a visible document was parsed from, when it is a local file still there (uploads and
        folder connectors), for the viewer to render its pages; None for other formats and remote sources."""
        visible = permission_filter(principal)
        visible.match = {"doc_id": doc_id}
        points = self.ingestor.store.scroll(visible, limit=1)
        if not points:
            raise NotFoundError(f"no document {doc_id!r} visible to this key")
        path = Path(points[0].payload.path or "")
        try:
            with path.open("rb") as f:
                is_pdf = path.is_file() and f.read(5) == b"%PDF-"
        except OSError:
            return None
        return path if is_pdf else None

    def require_visible(self, principal: Principal, doc_id: str) -> None:
        visible = permission_filter(principal)
        visible.match = {"doc_id": doc_id}
        if not self.ingestor.store.scroll(visible, limit=1):
            raise NotFoundError(f"no document {doc_id!r} visible to this key")

    @property
    def uploads_dir(self) -> Path:
        return (self.settings.data_dir / "uploads").resolve()

    def recover(self) -> int:
        """After a crash: settle uploads left half-written (the server runs this on start); their files go."""
        with self.write_lock:
            gone = recover_pending(self.ingestor.store, self.ingestor.state, uri_prefix=str(self.uploads_dir) + "/")
        for row in gone:
            folder = Path(row.uri).parent
            if folder.is_relative_to(self.uploads_dir) and folder != self.uploads_dir:
                shutil.rmtree(folder, ignore_errors=True)
        return len(gone)

    def delete(self, tenant: str, doc_id: str) -> None:
        with self.write_lock:
            self.ingestor.store.delete(Filter(tenant=tenant, match={"doc_id": doc_id}))
            self.ingestor.store.flush()
            self.ingestor.state.remove([doc_id])
