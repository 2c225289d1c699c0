"""Confluence Cloud and Data Center pages, with their read permissions, through the REST API (v1 content API).

- Listing: CQL `type=page AND space in (...)` through `/rest/api/content/search`, following `_links.next`
  (cursor pagination on Cloud, start/limit on Data Center), with `version`, `space` and the page's read
  restrictions expanded. A page's version is its version number plus its ACL: a page whose number and ACL
  are what the index holds is listed, not fetched. Bodies (`body.storage`) are read only for changed pages.
- Deletions: pages no longer returned by the listing (trashed, deleted, moved to a space not configured).
- Permissions: a page with read restrictions is readable by the restricted users and groups; otherwise by
  the space's read permission (users, groups, or everyone in the tenant for anonymous access). Users map to
  `user:<email>` (`user:confluence:<account id>` when the e-mail is hidden: link it with `citewise identities
  link`), groups to `group:<name>`.
  Restrictions inherited from ancestor pages are applied too.
- Attachments (`/child/attachment`) are documents of their own with their page's ACL, linked to it
  (`attached_to`), parsed like uploaded files; their version is the attachment's version number.
- Auth: Cloud, `email` + `api_token` (basic auth, as Atlassian documents); Data Center, a personal access
  token (`token`, bearer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import Field, SecretStr, model_validator

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    MembershipConnector,
    PermissionConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.connectors.http import VendorHTTP
from citewise.errors import CitewiseError, ConfigError, NotFoundError
from citewise.models import PUBLIC, RawDocument

EXPAND = "version,space,ancestors,restrictions.read.restrictions.user,restrictions.read.restrictions.group"


class ConfluenceConfig(ConnectorConfig):
    base_url: str = Field(description="https://<site>.atlassian.net/wiki (Cloud) or the Data Center base URL")
    spaces: TextList = Field(min_length=1, description="space keys to index")
    email: str | None = Field(None, description="Cloud: the account's e-mail (with api_token)")
    api_token: SecretStr | None = Field(None, description="Cloud: an API token from id.atlassian.com")
    token: SecretStr | None = Field(None, description="Data Center: a personal access token")
    page_size: int = Field(50, ge=1, le=250)
    include_attachments: bool = Field(True, description="index attachments as documents of their own")
    max_attachment_bytes: int = Field(50_000_000, ge=1)
    timeout_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _one_auth(self) -> ConfluenceConfig:
        if bool(self.api_token) == bool(self.token):
            raise ValueError("give email + api_token (Cloud) or token (Data Center)")
        if self.api_token and not self.email:
            raise ValueError("api_token needs the account's email")
        return self


class ConfluenceConnector(
    LoadConnector, ListIdsConnector, VersionedConnector, PermissionConnector, MembershipConnector
):
    kind = "confluence"
    Config = ConfluenceConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: ConfluenceConfig = parse_config(ConfluenceConfig, config, self.kind)
        self._http: VendorHTTP | None = None
        self._space_acl: dict[str, list[str]] = {}
        self._page_acl: dict[str, list[str] | None] = {}
        self._groups: set[str] = set()  # groups the ACLs named: their members are synced

    @property
    def source_id(self) -> str:
        return f"confluence:{self.cfg.base_url.rstrip('/')}:{','.join(sorted(self.cfg.spaces))}"

    @property
    def http(self) -> VendorHTTP:
        if self._http is None:
            cfg = self.cfg
            if cfg.api_token:
                auth = httpx.BasicAuth(cfg.email or "", cfg.api_token.get_secret_value())
                self._http = VendorHTTP(cfg.base_url, name="confluence", auth=auth, timeout_s=cfg.timeout_s)
            else:
                bearer = {"Authorization": f"Bearer {cfg.token.get_secret_value()}"}  # type: ignore[union-attr]
                self._http = VendorHTTP(cfg.base_url, name="confluence", headers=bearer, timeout_s=cfg.timeout_s)
        return self._http

    def validate(self) -> None:
        for key in self.cfg.spaces:
            try:
                self.http.get(f"/rest/api/space/{key}")
            except NotFoundError:
                raise ConfigError(f"confluence: no space {key!r} (or these credentials cannot see it)") from None

    # -- permissions -------------------------------------------------------------------------------------

    def _principal_user(self, user: dict) -> str:
        email = user.get("email")
        return f"user:{email}" if email else f"user:confluence:{user.get('accountId') or user.get('username')}"

    def _restrictions(self, content: dict) -> list[str] | None:
        read = (content.get("restrictions") or {}).get("read", {}).get("restrictions", {})
        users = [self._principal_user(u) for u in read.get("user", {}).get("results", [])]
        groups = [f"group:{g['name']}" for g in read.get("group", {}).get("results", [])]
        return sorted(set(users + groups)) or None

    def _space(self, key: str) -> list[str]:
        if key not in self._space_acl:
            space = self.http.get(f"/rest/api/space/{key}", expand="permissions")
            principals: set[str] = set()
            for perm in space.get("permissions", []):
                op = perm.get("operation", {})
                if op.get("operation") != "read" or op.get("targetType") != "space":
                    continue
                if perm.get("anonymousAccess"):
                    principals.add(PUBLIC)
                subjects = perm.get("subjects", {})
                principals |= {self._principal_user(u) for u in subjects.get("user", {}).get("results", [])}
                principals |= {f"group:{g['name']}" for g in subjects.get("group", {}).get("results", [])}
            self._space_acl[key] = sorted(principals) or ["user:nobody"]
        return self._space_acl[key]

    def _acl(self, page: dict) -> list[str]:
        """The page's own restriction, else the nearest restricted ancestor's, else the space's."""
        acl = self._effective(page)
        self._groups |= {p.removeprefix("group:") for p in acl if p.startswith("group:")}
        return acl

    def _effective(self, page: dict) -> list[str]:
        if self.acl:
            return list(self.acl)
        own = self._restrictions(page)
        if own:
            return own
        for ancestor in reversed(page.get("ancestors") or []):
            aid = ancestor["id"]
            if aid not in self._page_acl:
                full = self.http.get(f"/rest/api/content/{aid}", expand=EXPAND)
                self._page_acl[aid] = self._restrictions(full)
            if self._page_acl[aid]:
                return self._page_acl[aid]  # type: ignore[return-value]
        return self._space(page["space"]["key"])

    def memberships(self) -> Iterator[tuple[str, str]]:
        """The members of every group the synced pages' ACLs name (`/rest/api/group/member`)."""
        try:
            for name in sorted(self._groups):
                start = 0
                while True:
                    try:
                        page = self.http.get("/rest/api/group/member", name=name, start=start, limit=200)
                    except NotFoundError:
                        break  # the group is gone at the source: it has no members
                    for user in page.get("results", []):
                        yield self._principal_user(user), f"group:{name}"
                    if not (page.get("_links") or {}).get("next"):
                        break
                    start += len(page.get("results", [])) or 1
        finally:
            self.close()

    def permissions(self, key: str) -> list[str] | None:
        return self._acl(self.http.get(f"/rest/api/content/{key}", expand=EXPAND))

    # -- listing and loading -----------------------------------------------------------------------------

    def _pages(self, expand: str = EXPAND) -> Iterator[dict]:
        spaces = ",".join(json.dumps(s) for s in self.cfg.spaces)
        page = self.http.get(
            "/rest/api/content/search",
            cql=f"type=page AND space in ({spaces})",
            limit=self.cfg.page_size,
            expand=expand,
        )
        while True:
            yield from page.get("results", [])
            nxt = (page.get("_links") or {}).get("next")
            if not nxt:
                return
            page = self.http.get(nxt.removeprefix((page.get("_links") or {}).get("context", "")))

    def list_ids(self) -> Iterator[str]:
        for page in self._pages(expand="version"):
            yield page["id"]

    def _uri(self, page: dict) -> str:
        return f"{self.cfg.base_url.rstrip('/')}/pages/viewpage.action?pageId={page['id']}"

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        try:
            for page in self._pages():
                uri = self._uri(page)
                try:
                    acl = self._acl(page)
                except CitewiseError as exc:
                    yield FailedItem(key=page["id"], uri=uri, error=str(exc))
                    continue
                yield self._page(page, uri, acl)
                if self.cfg.include_attachments:
                    yield from self._attachments(page, uri, acl)
        finally:
            self.close()

    def _page(self, page: dict, uri: str, acl: list[str]) -> RawDocument | FailedItem | UnchangedItem:
        version = f"{page['version']['number']}|{acl_tag(acl)}"
        if self.unchanged(uri, version):
            return UnchangedItem(key=page["id"], uri=uri)
        try:
            body = self.http.get(f"/rest/api/content/{page['id']}", expand="body.storage,version")
        except CitewiseError as exc:  # a page deleted since the listing fails alone; it leaves on the next sync
            return FailedItem(key=page["id"], uri=uri, error=str(exc))
        html = body.get("body", {}).get("storage", {}).get("value", "")
        links = body.get("_links") or page.get("_links") or {}
        title = page.get("title", page["id"])
        meta = {"filename": "page.html", "space": page["space"]["key"], "page_version": page["version"]["number"],
                "link": self.cfg.base_url.rstrip("/") + links.get("webui", "")}  # fmt: skip
        return RawDocument(
            source_id=self.source_id, key=page["id"], uri=uri, title=title, metadata=meta,
            content=f"<html><head><title>{title}</title></head><body>{html}</body></html>".encode(),
            modified_at=body.get("version", {}).get("when"), version=version, acl=acl,
        )  # fmt: skip

    def _attachments(
        self, page: dict, page_uri: str, acl: list[str]
    ) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        """The page's attachments, as documents of their own with the page's ACL, linked to it."""
        tag = acl_tag(acl)
        url = f"/rest/api/content/{page['id']}/child/attachment"
        params: dict[str, Any] = {"limit": 100, "expand": "version"}
        while url:
            try:
                listing = self.http.get(url, **params)
            except NotFoundError:
                return
            for att in listing.get("results", []):
                download = (att.get("_links") or {}).get("download", "")
                uri = self.cfg.base_url.rstrip("/") + download.split("?")[0]
                version = f"{(att.get('version') or {}).get('number', 1)}|{tag}"
                size = (att.get("extensions") or {}).get("fileSize", 0)
                if self.unchanged(uri, version):
                    yield UnchangedItem(key=att["id"], uri=uri)
                    continue
                if size > self.cfg.max_attachment_bytes:
                    yield FailedItem(
                        key=att["id"], uri=uri, error=f"the attachment is {size:,} bytes, over max_attachment_bytes"
                    )
                    continue
                try:
                    content = self.http.download(download, self.cfg.max_attachment_bytes)
                except CitewiseError as exc:
                    yield FailedItem(key=att["id"], uri=uri, error=str(exc))
                    continue
                yield RawDocument(
                    source_id=self.source_id, key=att["id"], uri=uri, title=f"{att['title']} ({page.get('title', '')})",
                    content=content, version=version, acl=acl, mime_type=(att.get("extensions") or {}).get("mediaType"),
                    metadata={"filename": att["title"], "attached_to": page_uri, "space": page["space"]["key"],
                              "size_bytes": len(content), "link": uri},
                )  # fmt: skip
            nxt = (listing.get("_links") or {}).get("next")
            url, params = (nxt.removeprefix((listing.get("_links") or {}).get("context", "")), {}) if nxt else ("", {})

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
