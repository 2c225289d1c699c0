"""Operations on single documents: upload one file, list what a principal may see, delete one document.

The HTTP routes only translate to and from these; the checks (ACL grants, size limit, visibility) live here.
"""

from __future__ import annotations

import re
import shutil
import threading
import unicodedata
import uuid
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from citewise.connectors.filesystem import FilesystemConnector
from citewise.errors import InvalidInputError, NotFoundError, PermissionDeniedError, TooLargeError
from citewise.identity import Identity
from citewise.ingest.pipeline import Ingestor, doc_id_for
from citewise.ingest.recovery import recover_pending
from citewise.models import PUBLIC, Principal
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

    def _check_acl(self, caller: Identity, acl: list[str]) -> list[str]:
        acl = [a for a in acl if a]
        for entry in acl:
            if not (entry.startswith(("user:", "group:")) and len(entry.split(":", 1)[1]) > 0):
                raise InvalidInputError(f"acl entry {entry!r}: use user:NAME or group:NAME")
            if not caller.admin and entry not in caller.acl_principals():
                raise PermissionDeniedError(f"only an admin key may grant {entry!r}")
        return acl

    def upload(self, caller: Identity, filename: str, stream: BinaryIO, acl: list[str]) -> UploadedDocument:
        """Store the file under the caller's tenant (size limit enforced while reading) and ingest it."""
        acl = self._check_acl(caller, acl)
        name = safe_filename(filename or "upload")
        limit_mb = self.settings.api.max_upload_mb
        folder = self.uploads_dir / caller.tenant / uuid.uuid4().hex
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
        connector = FilesystemConnector(path=target, acl=acl or None)
        with self.write_lock:
            try:
                report = self.ingestor.sync(connector, tenant=caller.tenant)
            except Exception:  # a full disk, a lost index: nothing of the file stays behind
                recover_pending(self.ingestor.store, self.ingestor.state, source_id=connector.source_id)
                shutil.rmtree(folder, ignore_errors=True)
                raise
        doc_id = doc_id_for(self.ingestor.collection, caller.tenant, str(target))
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
