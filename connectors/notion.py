"""Notion: the pages shared with the integration, through the public API (`POST /v1/search`, block
children), rendered as Markdown (headings, lists, to-dos, quotes, code, callouts, nested blocks).

A page's version is its `last_edited_time` plus its ACL: unchanged pages are listed, their blocks not
fetched. Files uploaded to a page (`file` and `pdf` blocks hosted by Notion) are documents of their own
with the page's ACL, linked to it, downloaded from their signed URL without the integration's secret;
files that only link elsewhere (`external`) are named in the page's text, not fetched. Archived and
trashed pages, and pages no longer shared with the integration, leave the index.
Notion's API does not expose who may read a page, so pages are readable by the whole tenant unless the
connector's `acl` says otherwise (one connector per audience: share each audience's pages with its own
integration). Auth: an internal integration secret (bearer), `Notion-Version: 2022-06-28`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from pydantic import Field, SecretStr

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.connectors.http import VendorHTTP
from citewise.errors import CitewiseError, NotFoundError
from citewise.models import PUBLIC, RawDocument

NOTION_VERSION = "2022-06-28"
_PREFIX = {"heading_1": "# ", "heading_2": "## ", "heading_3": "### ", "bulleted_list_item": "- ",
           "numbered_list_item": "1. ", "quote": "> ", "callout": "> ", "toggle": "- "}  # fmt: skip
MAX_DEPTH = 8
FILE_BLOCKS = {"file", "pdf"}  # documents; images, video and audio are not indexed


class NotionConfig(ConnectorConfig):
    token: SecretStr = Field(description="the integration's internal secret (ntn_... or secret_...)")
    base_url: str = Field("https://api.notion.com", description="the API (a test server in the tests)")
    page_size: int = Field(100, ge=1, le=100)
    include_files: bool = Field(True, description="index files uploaded to pages as documents of their own")
    max_file_bytes: int = Field(50_000_000, ge=1)
    timeout_s: float = Field(30.0, gt=0)


class NotionConnector(LoadConnector, ListIdsConnector, VersionedConnector):
    kind = "notion"
    Config = NotionConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: NotionConfig = parse_config(NotionConfig, config, self.kind)
        self._http: VendorHTTP | None = None

    @property
    def source_id(self) -> str:
        return (
            f"notion:{self.cfg.base_url}:{hashlib.sha256(self.cfg.token.get_secret_value().encode()).hexdigest()[:8]}"
        )

    @property
    def http(self) -> VendorHTTP:
        if self._http is None:
            headers = {"Authorization": f"Bearer {self.cfg.token.get_secret_value()}", "Notion-Version": NOTION_VERSION}
            self._http = VendorHTTP(self.cfg.base_url, name="notion", headers=headers, timeout_s=self.cfg.timeout_s)
        return self._http

    def validate(self) -> None:
        self.http.get("/v1/users/me")

    def _pages(self) -> Iterator[dict]:
        body: dict[str, Any] = {"filter": {"property": "object", "value": "page"}, "page_size": self.cfg.page_size}
        while True:
            data = self.http.post("/v1/search", body)
            for page in data.get("results", []):
                if not page.get("archived") and not page.get("in_trash"):
                    yield page
            if not data.get("has_more"):
                return
            body["start_cursor"] = data["next_cursor"]

    def list_ids(self) -> Iterator[str]:
        for page in self._pages():
            yield page["id"]

    def _blocks(self, block_id: str, files: list[dict], depth: int = 0) -> Iterator[str]:
        """The page's lines as Markdown; its Notion-hosted file blocks are added to `files`."""
        cursor = None
        while True:
            data = self.http.get(f"/v1/blocks/{block_id}/children", page_size=self.cfg.page_size, start_cursor=cursor)
            for block in data.get("results", []):
                kind = block.get("type", "")
                value = block.get(kind) or {}
                text = "".join(t.get("plain_text", "") for t in value.get("rich_text", []))
                indent = "  " * depth
                if kind == "to_do":
                    yield f"{indent}- [{'x' if value.get('checked') else ' '}] {text}"
                elif kind == "code":
                    yield f"```{value.get('language', '')}\n{text}\n```"
                elif kind == "child_page":
                    yield f"{indent}- (page: {value.get('title', '')})"
                elif kind in FILE_BLOCKS:
                    hosted = value.get("type") == "file"
                    name = value.get("name") or _caption(value) or kind
                    link = (value.get(value.get("type", "")) or {}).get("url", "")
                    yield f"{indent}- (file: {name})" if hosted else f"{indent}- (file: [{name}]({link}))"
                    if hosted and link:
                        files.append({"id": block["id"], "name": name, "url": link,
                                      "edited": block.get("last_edited_time", "")})  # fmt: skip
                elif text:
                    yield f"{indent}{_PREFIX.get(kind, '')}{text}"
                if block.get("has_children") and kind != "child_page" and depth < MAX_DEPTH:
                    yield from self._blocks(block["id"], files, depth + 1)
            if not data.get("has_more"):
                return
            cursor = data["next_cursor"]

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        acl = list(self.acl) if self.acl else [PUBLIC]
        tag = acl_tag(acl)
        try:
            for page in self._pages():
                uri = page.get("url") or f"notion:{page['id']}"
                version = f"{page['last_edited_time']}|{tag}"
                if self.unchanged(uri, version):
                    yield UnchangedItem(key=page["id"], uri=uri)
                    for known in getattr(self, "known_versions", {}):  # its files, as indexed with it
                        if known.startswith(f"{uri}#file-"):
                            yield UnchangedItem(key=known.rsplit("#file-", 1)[1], uri=known)
                    continue
                title = _title(page)
                files: list[dict] = []
                try:
                    lines = list(self._blocks(page["id"], files))
                except NotFoundError:
                    continue  # removed or unshared between the search and the read
                except CitewiseError as exc:
                    yield FailedItem(key=page["id"], uri=uri, error=str(exc))
                    continue
                yield RawDocument(
                    source_id=self.source_id, key=page["id"], uri=uri, title=title, version=version, acl=acl,
                    content=(f"# {title}\n\n" + "\n\n".join(lines)).encode(), modified_at=page["last_edited_time"],
                    metadata={"filename": "page.md", "link": uri, "parent": (page.get("parent") or {}).get("type", "")},
                )  # fmt: skip
                if self.cfg.include_files:
                    yield from self._files(files, uri, title, acl, tag)
        finally:
            self.close()

    def _files(self, files: list[dict], page_uri: str, title: str, acl: list[str], tag: str) -> Iterator[Any]:
        for file in files:
            uri, version = f"{page_uri}#file-{file['id']}", f"{file['edited']}|{tag}"
            if self.unchanged(uri, version):
                yield UnchangedItem(key=file["id"], uri=uri)
                continue
            try:
                content = self.http.download(file["url"], self.cfg.max_file_bytes, presigned=True)
            except CitewiseError as exc:
                yield FailedItem(key=file["id"], uri=uri, error=str(exc))
                continue
            yield RawDocument(
                source_id=self.source_id, key=file["id"], uri=uri, title=f"{file['name']} ({title})", content=content,
                version=version, acl=acl, modified_at=file["edited"] or None,
                metadata={"filename": file["name"], "attached_to": page_uri, "link": page_uri,
                          "size_bytes": len(content)},
            )  # fmt: skip

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _caption(value: dict) -> str:
    return "".join(t.get("plain_text", "") for t in value.get("caption", []))


def _title(page: dict) -> str:
    for prop in (page.get("properties") or {}).values():
        if prop.get("type") == "title":
            return "".join(t.get("plain_text", "") for t in prop.get("title", [])) or "Untitled"
    return "Untitled"
