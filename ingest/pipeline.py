"""The ingestion pipeline: connector -> parse -> chunk -> encode -> index, driven by sync state.

Per batch of changed documents: parse (in the sandbox) and chunk (no index effect) -> mark `pending` ->
check free space -> embed (cache first) -> upsert points, hidden as pending, with ids per version -> flip
each document live -> delete its older versions -> mark `indexed` (ingest/recovery.py has why). Documents
the source no longer lists are deleted after a complete listing. Every step is idempotent, so a run killed
at any point and started again ends with the index a clean run would build, and never shows half a document.
One batch is embedded (on the encoder's threads) while the next is parsed and chunked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from citewise.connectors.base import (
    ChangeFeedConnector,
    Connector,
    DeletedItem,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    MembershipConnector,
    PermissionsChanged,
    UnchangedItem,
    VersionedConnector,
)
from citewise.db import init_db
from citewise.errors import DocumentError
from citewise.ingest.chunking import Chunker
from citewise.ingest.containers import ContainerLimits, children_of, expand
from citewise.ingest.parsing.limits import ArchiveLimits
from citewise.ingest.parsing.ocr import OcrLimits
from citewise.ingest.parsing.pdf_tables import PdfTableLimits
from citewise.ingest.parsing.sandbox import ParserSandbox, SandboxLimits
from citewise.ingest.progress import NoProgress, Progress
from citewise.ingest.recovery import disk_errors_named, ensure_free_space, recover_pending
from citewise.ingest.state import DocumentState, EmbeddingCache, SyncState
from citewise.ingest.tables import TableStore
from citewise.models import PUBLIC, Chunk, ChunkPayload, DocError, IngestReport, RawDocument, TableData
from citewise.retrieval.encoders.dense import DenseEncoder
from citewise.retrieval.encoders.model_files import load_tokenizer, resolve_model_dir
from citewise.retrieval.encoders.sparse import SAMPLE_CHARS
from citewise.retrieval.index import ActiveIndex, IndexAccess
from citewise.retrieval.stores.base import Filter, Point, VectorStore
from citewise.settings import Settings

log = logging.getLogger(__name__)

# Bump when parsing/chunking output changes: every document is re-indexed. 3: tables kept as rows. 4: pictures
# in Office files OCR'd.
PIPELINE_VERSION = "4"
ACL_META = "acl_"  # metadata keys about permissions: part of the ACL, not of the content fingerprint
UPSERT_BATCH = 256


def _with_acl(content_hash: str, acl: list[str] | None) -> str:
    """The full fingerprint: the content's and the ACL."""
    return hashlib.sha256(f"{content_hash}\x1f{json.dumps(sorted(acl) if acl else None)}".encode()).hexdigest()


def _scalar_meta(doc: RawDocument) -> dict:
    return {k: v for k, v in doc.metadata.items() if isinstance(v, (str, int, float, bool))}


def doc_id_for(collection: str, tenant: str, uri: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"citewise:{collection}:{tenant}:{uri}"))


def point_id_for(doc_id: str, chunk_index: int, version: str) -> str:
    """Deterministic, and distinct per version: a new version is written beside the old one, never over it."""
    return str(uuid.uuid5(uuid.UUID(doc_id), f"{version}:{chunk_index}"))


@dataclass(slots=True)
class _Pending:
    doc: RawDocument
    doc_id: str
    fingerprint: str
    previous: DocumentState | None
    chunks: list[Chunk] | None = None
    tables: list[TableData] = field(default_factory=list)
    content_hash: str | None = None
    language: str | None = None  # detected once per document; its chunks' BM25 analyser


@dataclass(frozen=True, slots=True)
class _Run:
    """What one sync's batches share."""

    tenant: str
    report: IngestReport
    progress: Progress


@dataclass(slots=True)
class _InFlight:
    """A parsed and chunked batch whose new vectors the encoder is computing (`future`)."""

    ready: list[_Pending]
    chunks: list[Chunk]
    run: _Run
    keys: list[str] = field(default_factory=list)  # each chunk's embedding-cache key
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # by key: cached, then fresh ones added
    missing: list[tuple[str, str]] = field(default_factory=list)  # (key, text) to embed
    future: Future | None = None
    sparse: list = field(default_factory=list)


class Ingestor(IndexAccess):
    """Syncs connectors into one collection. Light to build; models and the index open on first need."""

    def __init__(
        self,
        settings: Settings,
        *,
        collection: str | None = None,
        store: VectorStore | None = None,
        encoder: DenseEncoder | None = None,
        index: ActiveIndex | None = None,
    ) -> None:
        super().__init__(settings, collection=collection, store=store, encoder=encoder, index=index)
        sessions = init_db(settings.db_url)
        self.state = SyncState(sessions, self.collection)
        self.tables = TableStore(sessions)
        self._sessions = sessions
        self._inflight: _InFlight | None = None  # the batch being embedded while the next one is parsed

    # -- heavy parts, loaded once on first use (encoder, store, sparse: IndexAccess) --------------------
    @cached_property
    def chunker(self) -> Chunker:
        return Chunker(load_tokenizer(resolve_model_dir(self.settings.embedding)), self.settings.chunking)

    @property
    def _local_index(self) -> bool:
        """The index lives in the data dir (Qdrant Edge, or qdrant-client local mode): its disk is ours."""
        return self.settings.index.backend == "edge" or not self.settings.index.url

    @cached_property
    def parser(self) -> ParserSandbox:
        cfg = self.settings.ingest
        limits = SandboxLimits(
            memory_bytes=cfg.parse_memory_mb * 2**20,
            cpu_s=cfg.parse_cpu_s,
            wall_s=cfg.parse_timeout_s,
            output_chars=int(cfg.max_text_mb * 2**20),
            archive=ArchiveLimits(
                max_expanded_bytes=cfg.max_expanded_mb * 2**20,
                max_members=cfg.max_archive_members,
                max_ratio=cfg.max_compression_ratio,
            ),
            ocr=OcrLimits(
                languages=cfg.ocr_languages,
                max_pages=cfg.ocr_max_pages,
                page_timeout_s=cfg.ocr_page_timeout_s,
                file_timeout_s=cfg.ocr_file_timeout_s,
                pictures=cfg.ocr_pictures,
            )
            if cfg.ocr
            else None,
            pdf_tables=PdfTableLimits(max_pages=cfg.pdf_table_pages) if cfg.pdf_tables else None,
        )
        return ParserSandbox(limits, max_bytes=int(cfg.max_file_mb * 1_000_000), in_process=not cfg.sandbox)

    @cached_property
    def container_limits(self) -> ContainerLimits:
        cfg = self.settings.ingest
        return ContainerLimits(
            max_members=cfg.max_archive_members,
            max_total_bytes=cfg.max_container_mb * 2**20,
            max_member_bytes=int(cfg.max_file_mb * 1_000_000),
            max_depth=cfg.max_container_depth,
            max_ratio=cfg.max_compression_ratio,
        )

    @cached_property
    def cache(self) -> EmbeddingCache:
        return EmbeddingCache(self._sessions, self.encoder.dim)

    @cached_property
    def _config_hash(self) -> str:
        """What shapes the indexed text: not the dense encoder, which belongs to the collection's generation (a
        new encoder re-embeds the stored chunks, `ingest/reindex.py`, and no source is parsed again)."""
        emb = self.settings.embedding
        model_dir = resolve_model_dir(emb)
        config = {
            "pipeline": PIPELINE_VERSION,
            "model": str(model_dir),
            "seq": emb.max_seq_length,
            "chunking": self.settings.chunking.model_dump(),
            "sparse": self.settings.sparse.model_dump(),
        }
        return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()

    # -- the sync ---------------------------------------------------------------------------------------
    def _fingerprint(self, doc: RawDocument, tenant: str) -> tuple[str, str]:
        """(everything indexed about the item, everything but its ACL): when only the second matches, only the
        permissions changed, and the points' ACL payloads are updated in place. Metadata keys starting with
        `acl_` (a connector's notes about permissions) count as ACL, not content."""
        h = hashlib.sha256(self._config_hash.encode())
        h.update(doc.content if doc.content is not None else (doc.text or "").encode())
        described = {k: v for k, v in doc.metadata.items() if not k.startswith(ACL_META)}
        meta = {"title": doc.title, "tenant": tenant, "meta": described}
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
        content = h.hexdigest()
        return _with_acl(content, doc.acl), content

    def sync(self, connector: Connector, *, tenant: str = "default", progress: Progress | None = None) -> IngestReport:
        with self.index.use():  # one generation for the whole sync: a swap waits for it
            return self._sync(connector, tenant=tenant, progress=progress)

    def _sync(self, connector: Connector, *, tenant: str, progress: Progress | None) -> IngestReport:
        if not isinstance(connector, LoadConnector):
            raise TypeError(f"{type(connector).__name__} cannot do a full load")
        progress = progress or NoProgress()
        t0 = time.perf_counter()
        report = IngestReport()
        if self.state.pending(source_id=connector.source_id):  # a run of this source died: settle it first
            recover_pending(self.store, self.state, source_id=connector.source_id)
        known = self.state.for_source(connector.source_id, tenant)
        # a second pass over the source, so only when a progress bar will show the total
        wants_total = progress.shows_total and isinstance(connector, ListIdsConnector)
        total = sum(1 for _ in connector.list_ids()) if wants_total else None
        progress.start(total, f"ingest {connector.source_id.split(':', 1)[-1][-40:]}")
        seen: set[str] = set()
        batch: list[_Pending] = []
        run = _Run(tenant, report, progress)
        if isinstance(connector, VersionedConnector):
            connector.set_known_versions(
                {r.uri: r.source_version for r in known.values() if r.status == "indexed" and r.source_version}
            )
        feed = isinstance(connector, ChangeFeedConnector)
        cursor = self.state.cursor(connector.source_id, tenant) if feed else None
        if feed:
            connector.set_cursor(cursor)
        if isinstance(connector, MembershipConnector):
            from citewise.identity import stored_groups

            connector.set_known_groups(stored_groups(self._sessions, tenant, connector.source_id))
        try:
            for item in expand(connector.load(), self.container_limits):
                if isinstance(item, DeletedItem | PermissionsChanged):
                    self._drain()  # the change may concern a document of the batch in flight
                    self._change(item, tenant, known, seen, report)
                    progress.advance(1)
                    continue
                if isinstance(item, UnchangedItem):
                    seen.add(doc_id_for(self.collection, tenant, item.uri))
                    members = children_of(item.uri)  # an unchanged container keeps its members
                    seen.update(d for d, row in known.items() if row.uri.startswith(members))
                    report.unchanged += 1
                    progress.advance(1)
                    continue
                if isinstance(item, FailedItem):
                    seen.add(doc_id_for(self.collection, tenant, item.uri))
                    report.failed += 1
                    report.errors.append(DocError(path=item.uri, error=item.error))
                    progress.advance(1)
                    continue
                doc_id = doc_id_for(self.collection, tenant, item.uri)
                seen.add(doc_id)
                fingerprint, content = self._fingerprint(item, tenant)
                previous = known.get(doc_id)
                indexed = previous is not None and previous.status == "indexed"
                if indexed and previous.fingerprint == fingerprint:
                    report.unchanged += 1
                    progress.advance(1)
                    continue
                if indexed and previous.content_hash == content:
                    self._update_acl(item, doc_id, fingerprint, previous, report)
                    progress.advance(1)
                    continue
                batch.append(_Pending(item, doc_id, fingerprint, previous, content_hash=content))
                if len(batch) >= self.settings.ingest.batch_docs:
                    self._process(batch, run)
                    batch = []
            self._process(batch, run)
            self._drain()
            if not (feed and cursor is not None):  # a change feed's increment names its deletions itself
                gone = [doc_id for doc_id in known if doc_id not in seen]
                self._delete(gone, known, report)
            if feed:
                self.state.save_cursor(connector.source_id, tenant, connector.next_cursor)
            if isinstance(connector, MembershipConnector):
                from citewise.identity import replace_memberships

                pairs = list(connector.memberships())
                replace_memberships(self._sessions, tenant, connector.source_id, pairs, connector.membership_scope())
            if self.index.opened:
                self.store.flush()
        finally:
            self._abandon()  # only a failed sync leaves a batch in flight
            progress.finish()
        report.seconds = round(time.perf_counter() - t0, 3)
        return report

    def _update_acl(
        self, doc: RawDocument, doc_id: str, fingerprint: str, previous: DocumentState, report: IngestReport
    ) -> None:
        """Only who may read the document changed: its points' ACL payloads in place, nothing parsed or embedded."""
        self._set_acl(doc_id, doc.acl, fingerprint, doc.version, report, meta=_scalar_meta(doc))

    def _set_acl(
        self, doc_id: str, acl: list[str] | None, fingerprint: str, version: str | None, report: IngestReport,
        *, meta: dict | None = None,
    ) -> None:  # fmt: skip
        values: dict = {"acl": list(acl) if acl else [PUBLIC]}
        if meta is not None:
            values["meta"] = meta
        with disk_errors_named(self.settings.data_dir):
            self.store.set_payload(Filter(match={"doc_id": doc_id}), values)
        self.state.set_status(doc_id, "indexed", fingerprint=fingerprint, source_version=version)
        report.updated += 1
        report.permissions_updated += 1

    def _change(
        self, item: DeletedItem | PermissionsChanged, tenant: str, known: dict, seen: set[str], report: IngestReport
    ) -> None:
        """A change feed's deletion, or a permission-only change of an indexed document."""
        doc_id = doc_id_for(self.collection, tenant, item.uri)
        previous = known.get(doc_id)
        if isinstance(item, DeletedItem):
            if previous is not None:
                self._delete([doc_id], known, report)
                del known[doc_id]
            return
        seen.add(doc_id)
        if previous is not None and previous.status == "indexed" and previous.content_hash:
            self._set_acl(doc_id, item.acl, _with_acl(previous.content_hash, item.acl), item.version, report)
        else:  # not indexed as it is: the connector must send the whole item; say so instead of guessing
            report.failed += 1
            report.errors.append(DocError(path=item.uri, error="a permission change for a document not indexed yet"))

    def _delete(self, doc_ids: list[str], known: dict[str, DocumentState], report: IngestReport) -> None:
        for doc_id in doc_ids:
            self.store.delete(Filter(match={"doc_id": doc_id}))
            if known[doc_id].status != "failed":
                report.deleted += 1
        self.state.remove(doc_ids)

    def _process(self, batch: list[_Pending], run: _Run) -> None:
        """Parse and chunk this batch and start its embedding, then finish the batch before it: the model
        computes one batch's vectors on its own threads while this thread parses and chunks the next."""
        prepared = self._prepare(batch, run)
        self._drain()
        self._inflight = prepared

    def _drain(self) -> None:
        """Finish the batch in flight, if any (before a deletion or a permission change, and at the end)."""
        prepared, self._inflight = self._inflight, None
        if prepared is not None:
            self._finish(prepared)

    def _abandon(self) -> None:
        """A sync that failed: wait for the batch in flight and drop it (its documents stay pending and the
        next run redoes them, as after a crash)."""
        prepared, self._inflight = self._inflight, None
        if prepared is not None and prepared.future is not None:
            prepared.future.exception()

    def _prepare(self, batch: list[_Pending], run: _Run) -> _InFlight | None:
        if not batch:
            return None
        tenant, report, progress = run.tenant, run.report, run.progress
        ready: list[_Pending] = []
        openings: list[str] = []  # each ready document's opening, for one batched language detection
        failed_rows: list[dict] = []
        for p in batch:
            try:
                parsed = self.parser.parse(p.doc)
                p.chunks = self.chunker.run(parsed, doc_id=p.doc_id, title=p.doc.title)
                p.tables = parsed.tables
                openings.append(parsed.text[:SAMPLE_CHARS])  # the detector reads no more; the whole text is not kept
                ready.append(p)
            except Exception as exc:  # one bad document never stops the batch
                message = str(exc) if isinstance(exc, DocumentError) else f"internal: {type(exc).__name__}: {exc}"
                if not isinstance(exc, DocumentError):
                    log.exception("unexpected error parsing %s", p.doc.uri)
                report.failed += 1
                report.errors.append(DocError(path=p.doc.uri, error=message))
                progress.advance(1)
                failed_rows.append(self._failed_row(p, tenant, message))
        self.state.upsert(failed_rows)
        if not ready:
            return None
        for p, language in zip(ready, self.sparse.detect_documents(openings), strict=True):
            p.language = language
        self.state.upsert([self._row(p, tenant, status="pending", fingerprint=None) for p in ready])
        chunks = [c for p in ready for c in p.chunks or []]
        if self._local_index:
            ensure_free_space(self.settings.data_dir, len(chunks))
        prepared = _InFlight(ready, chunks, run)
        self._start_embedding(prepared)
        by_doc_language = {p.doc_id: p.language for p in ready}
        prepared.sparse = self.sparse.embed_documents(
            [c.embed_text for c in chunks], [by_doc_language[c.doc_id] for c in chunks]
        )
        return prepared

    def _start_embedding(self, prepared: _InFlight) -> None:
        """Cached vectors now; the missing ones on the encoder's thread (OpenVINO releases the GIL). The cache
        is read and written on this thread only."""
        model_id = self.encoder.model_id
        prepared.keys = [hashlib.sha256(f"{model_id}\x1f{c.embed_text}".encode()).hexdigest() for c in prepared.chunks]
        prepared.vectors = self.cache.get_many(list(set(prepared.keys)))
        texts = {k: c.embed_text for k, c in zip(prepared.keys, prepared.chunks, strict=True)}
        prepared.missing = sorted((k, t) for k, t in texts.items() if k not in prepared.vectors)
        if prepared.missing:
            prepared.future = self._embedder.submit(self.encoder.embed_documents, [t for _, t in prepared.missing])

    def _embedded(self, prepared: _InFlight) -> list[np.ndarray]:
        """Each chunk's vector, once the encoder is done; the fresh ones go into the cache."""
        if prepared.future is not None:
            fresh = prepared.future.result()
            new = {k: fresh[i] for i, (k, _) in enumerate(prepared.missing)}
            self.cache.put_many(new)
            prepared.vectors.update(new)
            prepared.run.report.embedded += len(new)
        return [prepared.vectors[k] for k in prepared.keys]

    def _finish(self, prepared: _InFlight) -> None:
        ready, chunks = prepared.ready, prepared.chunks
        tenant, report, progress = prepared.run.tenant, prepared.run.report, prepared.run.progress
        vectors = self._embedded(prepared)
        by_doc = {p.doc_id: p for p in ready}
        points = [
            Point(
                point_id_for(c.doc_id, c.index, by_doc[c.doc_id].fingerprint[:16]),
                vectors[i].tolist(),
                prepared.sparse[i],
                self._payload(c, by_doc[c.doc_id], tenant),
            )
            for i, c in enumerate(chunks)
        ]
        with disk_errors_named(self.settings.data_dir):
            for i in range(0, len(points), UPSERT_BATCH):  # written pending: invisible to every search
                self.store.upsert(points[i : i + UPSERT_BATCH])
            for p in ready:  # each document turns visible whole, then its older versions (or a dead run's) go
                version = p.fingerprint[:16]
                self.store.set_payload(Filter(match={"doc_id": p.doc_id, "version": version}), {"status": "live"})
                self.store.delete(Filter(match={"doc_id": p.doc_id}, exclude={"version": version}))
        for p in ready:  # before `indexed`: a crash here leaves the document pending, and the next run redoes it
            if p.tables or p.previous is not None:
                self.tables.replace(p.doc_id, tenant, p.tables)
        self.state.upsert([self._row(p, tenant, status="indexed", fingerprint=p.fingerprint) for p in ready])
        for p in ready:
            was_indexed = p.previous is not None and p.previous.status in ("indexed", "pending")
            report.updated += 1 if was_indexed else 0
            report.added += 0 if was_indexed else 1
            report.chunks += len(p.chunks or [])
            progress.advance(1, len(p.chunks or []))

    @cached_property
    def _embedder(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewise-embed")

    def close(self) -> None:
        if "_embedder" in self.__dict__:
            self._embedder.shutdown(wait=True)
            del self.__dict__["_embedder"]
        super().close()

    def _payload(self, chunk: Chunk, p: _Pending, tenant: str) -> ChunkPayload:
        doc = p.doc
        return ChunkPayload(
            tenant=tenant,
            acl=list(doc.acl) if doc.acl else [PUBLIC],
            doc_id=chunk.doc_id,
            version=p.fingerprint[:16],
            source=doc.source_id,
            key=doc.key,
            path=doc.uri,
            title=doc.title,
            chunk_index=chunk.index,
            page=chunk.page,
            section_path=chunk.section_path,
            char_start=chunk.char_start,
            char_end=chunk.char_end,
            text=chunk.text,
            ocr_confidence=chunk.ocr_confidence,
            language=p.language,
            modified_at=doc.modified_at.isoformat() if doc.modified_at else None,
            meta=_scalar_meta(doc),
            status="pending",
        )

    def _row(self, p: _Pending, tenant: str, *, status: str, fingerprint: str | None) -> dict:
        return {
            "doc_id": p.doc_id,
            "tenant": tenant,
            "source_id": p.doc.source_id,
            "key": p.doc.key,
            "uri": p.doc.uri,
            "title": p.doc.title,
            "status": status,
            "fingerprint": fingerprint,
            "version": p.fingerprint[:16] if status != "failed" else None,  # pending: the version being written
            "source_version": p.doc.version if status == "indexed" else None,
            "content_hash": p.content_hash if status == "indexed" else None,
            "chunks": len(p.chunks or []),
            "error": None,
        }

    def _failed_row(self, p: _Pending, tenant: str, message: str) -> dict:
        prev = p.previous
        if prev is not None and prev.status == "indexed":  # keep serving the last good version
            row = self._row(p, tenant, status="indexed", fingerprint=prev.fingerprint)
            row.update(
                version=prev.version,
                chunks=prev.chunks,
                source_version=prev.source_version,
                content_hash=prev.content_hash,
            )
        else:
            row = self._row(p, tenant, status="failed", fingerprint=None)
        row["error"] = message
        return row
