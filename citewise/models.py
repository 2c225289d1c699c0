"""Domain models that cross package seams. Pydantic so they validate and serialise the same everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

PUBLIC = "*"  # ACL principal meaning "everyone in the tenant"


class RawDocument(BaseModel):
    """What a connector yields: one source item, not parsed yet.

    `content` holds the file bytes; connectors whose items are already plain text (JSONL records,
    database rows) set `text` instead, and parsing is skipped.
    """

    source_id: str
    key: str = Field(description="stable id of the item inside its source (relative path, record id)")
    uri: str
    title: str = ""
    content: bytes | None = None
    text: str | None = None
    mime_type: str | None = None
    modified_at: datetime | None = None
    version: str | None = Field(None, description="etag / revision as the source reports it")
    acl: list[str] | None = Field(None, description="principals allowed (user:U, group:G); None = whole tenant")
    metadata: dict[str, Any] = Field(default_factory=dict)


ElementType = Literal["title", "text", "list_item", "table", "code", "header", "footer", "email_header", "other"]


class Element(BaseModel):
    """A parsed block with its place in the document's parsed text (`ParsedDocument.text`)."""

    type: ElementType
    text: str
    page: int | None = None
    section_path: list[str] = Field(default_factory=list)
    char_start: int = 0
    char_end: int = 0
    ocr_confidence: float | None = None  # read by OCR: the page's mean word confidence (0-100)


class TableData(BaseModel):
    """A table as rows of cells (CSV, TSV, an XLSX sheet), kept for the agent's `table_query` tool."""

    name: str = Field(description="the sheet name, or the file's title for CSV/TSV")
    columns: list[str]
    rows: list[list[str]]


class ParsedDocument(BaseModel):
    text: str
    elements: list[Element]
    title: str = ""
    pages: int | None = None
    tables: list[TableData] = Field(default_factory=list)


class Chunk(BaseModel):
    doc_id: str
    index: int
    text: str
    embed_text: str = Field(description="what the encoders see: title and section path, then the text")
    page: int | None = None
    section_path: list[str] = Field(default_factory=list)
    char_start: int
    char_end: int
    token_count: int
    ocr_confidence: float | None = None  # the chunk's text was read by OCR, with this mean word confidence


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number is required, not true/false")
    return value


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError("an ISO 8601 date or date-time string is required")
    return value


# Request fields that must arrive as what they say (JSON false is no 0.0, and 0 is no date).
Number = Annotated[float, BeforeValidator(_no_bool)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def _indexed(kind: Literal["keyword", "datetime"]) -> dict[str, Any]:
    return {"index": kind}


class ChunkPayload(BaseModel):
    """What every index point carries: written by the ingestor, stored by both vector stores (which create a
    payload index for each field marked `index`), read by the retriever, shaping and the document listing.

    Unknown keys are kept (`extra="allow"`), so points written by a newer version or a plugin round-trip.
    """

    model_config = ConfigDict(extra="allow")

    tenant: str = Field("default", json_schema_extra=_indexed("keyword"))
    acl: list[str] = Field(default_factory=lambda: [PUBLIC], json_schema_extra=_indexed("keyword"))
    doc_id: str = Field("", json_schema_extra=_indexed("keyword"))
    version: str | None = Field(None, description="fingerprint prefix of the document version")
    source: str = Field("", json_schema_extra=_indexed("keyword"))
    key: str = Field("", description="the document's id within its source (relative path, record id)")
    path: str = Field("", json_schema_extra=_indexed("keyword"))
    title: str = ""
    chunk_index: int | None = None
    page: int | None = None
    section_path: list[str] = Field(default_factory=list)
    char_start: int | None = None
    char_end: int | None = None
    text: str = ""
    ocr_confidence: float | None = Field(None, description="read by OCR: Tesseract's mean word confidence, 0-100")
    language: str | None = Field(None, json_schema_extra=_indexed("keyword"), description="detected, e.g. german")
    modified_at: str | None = Field(None, json_schema_extra=_indexed("datetime"))
    meta: dict[str, str | int | float | bool] = Field(default_factory=dict)
    # "pending" while a document's chunks are being written, "live" once all are: search never sees half.
    # A keyword, not a bool: Qdrant Edge's Python binding matches True as the integer 1.
    status: Literal["live", "pending"] = Field("live", json_schema_extra=_indexed("keyword"))

    @classmethod
    def indexed_fields(cls) -> dict[str, Literal["keyword", "datetime"]]:
        """Payload key -> index type; permission fields first."""
        return {
            name: (f.json_schema_extra or {})["index"]  # type: ignore[index, misc]
            for name, f in cls.model_fields.items()
            if isinstance(f.json_schema_extra, dict) and "index" in f.json_schema_extra
        }

    def to_store(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_store(cls, raw: dict[str, Any] | None) -> ChunkPayload:
        return cls.model_validate(raw or {})


class Principal(BaseModel):
    tenant: str = "default"
    user_id: str | None = None
    groups: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)  # the user's ids at sources (`user:jira:<id>`), linked

    def acl_principals(self) -> list[str]:
        principals = [PUBLIC]
        if self.user_id:
            principals.append(f"user:{self.user_id}")
        principals.extend(f"group:{g}" for g in self.groups)
        principals.extend(a for a in self.aliases if a.startswith("user:"))
        return principals


class ContextChunk(BaseModel):
    """A neighbour of a hit in its document, attached for context (not itself a ranked result)."""

    chunk_id: str
    chunk_index: int
    text: str
    char_start: int | None = None
    char_end: int | None = None


class SearchHit(BaseModel):
    doc_id: str
    chunk_id: str
    score: float = Field(description="the score the list is ordered by (the last stage that ran)")
    scores: dict[str, float] = Field(default_factory=dict, description="per stage: dense, sparse, fused, rerank")
    title: str
    path: str
    source: str = ""
    key: str = Field("", description="the document's id within its source (relative path, record id)")
    page: int | None
    chunk_index: int | None = None
    text: str
    char_start: int | None = None
    char_end: int | None = None
    section_path: list[str] = Field(default_factory=list)
    modified_at: str | None = None
    language: str | None = Field(None, description="the document's detected language, e.g. german")
    context_before: list[ContextChunk] = Field(default_factory=list)
    context_after: list[ContextChunk] = Field(default_factory=list)


class DocError(BaseModel):
    path: str
    error: str


class IngestReport(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks: int = 0
    embedded: int = Field(0, description="chunks that needed the encoder (cache misses)")
    permissions_updated: int = Field(0, description="updated documents whose ACL alone changed (payloads only)")
    seconds: float = 0.0
    errors: list[DocError] = Field(default_factory=list)

    def merge(self, other: IngestReport) -> None:
        for f in ("added", "updated", "unchanged", "deleted", "failed", "chunks", "embedded", "permissions_updated"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.seconds = round(self.seconds + other.seconds, 3)
        self.errors.extend(other.errors)
