"""Jira Cloud issues with their comments, and who may browse them, through the REST API v3.

- Listing: JQL `project in (...) ORDER BY updated ASC` through `/rest/api/3/search/jql` (`nextPageToken`
  pagination), with the fields the documents need. An issue's version is its `updated` time (comments
  bump it) plus its ACL: unchanged issues are listed, not re-read. Issues no longer returned (deleted,
  moved to another project) leave the index.
- Text: summary, description and comments, converted from the Atlassian Document Format.
- Permissions: the project's permission scheme (`BROWSE_PROJECTS` holders: groups, users, anyone), narrowed
  by the issue's security level when it has one (the level's members). Groups map to `group:<name>`,
  users to `user:jira:<account id>` (a permission holder names no e-mail: link it with `citewise
  identities`), `anyone` to the tenant.
  Holders Citewise cannot resolve offline (project roles, reporter, assignee) are reported in the item's
  metadata and not granted.
- Auth: the account's e-mail and an API token (basic auth, as Atlassian documents).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import Field, SecretStr

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    MembershipConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.connectors.http import VendorHTTP
from citewise.errors import CitewiseError, ConfigError, NotFoundError
from citewise.models import PUBLIC, RawDocument

FIELDS = "summary,description,comment,updated,project,security,status,issuetype,reporter,attachment"


def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format node: paragraphs and list items on their own lines."""
    if not isinstance(node, dict):
        return str(node or "")
    if node.get("type") == "text":
        return node.get("text", "")
    if node.get("type") in ("hardBreak",):
        return "\n"
    inner = "".join(adf_text(child) for child in node.get("content", []))
    if node.get("type") in ("paragraph", "heading", "listItem", "codeBlock", "blockquote"):
        return inner.strip() + "\n"
    return inner


class JiraConfig(ConnectorConfig):
    base_url: str = Field(description="https://<site>.atlassian.net")
    projects: TextList = Field(min_length=1, description="project keys")
    email: str = Field(description="the account's e-mail")
    api_token: SecretStr = Field(description="an API token from id.atlassian.com")
    page_size: int = Field(50, ge=1, le=100)
    include_attachments: bool = Field(True, description="index attachments as documents of their own")
    max_attachment_bytes: int = Field(50_000_000, ge=1)
    timeout_s: float = Field(30.0, gt=0)


class JiraConnector(LoadConnector, ListIdsConnector, VersionedConnector, MembershipConnector):
    kind = "jira"
    Config = JiraConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: JiraConfig = parse_config(JiraConfig, config, self.kind)
        self._http: VendorHTTP | None = None
        self._projects: dict[str, tuple[list[str], list[str]]] = {}
        self._levels: dict[str, tuple[list[str], list[str]]] = {}
        self._groups: set[str] = set()  # groups the ACLs named: their members are synced

    @property
    def source_id(self) -> str:
        return f"jira:{self.cfg.base_url.rstrip('/')}:{','.join(sorted(self.cfg.projects))}"

    @property
    def http(self) -> VendorHTTP:
        if self._http is None:
            auth = httpx.BasicAuth(self.cfg.email, self.cfg.api_token.get_secret_value())
            self._http = VendorHTTP(self.cfg.base_url, name="jira", auth=auth, timeout_s=self.cfg.timeout_s)
        return self._http

    def validate(self) -> None:
        self.http.get("/rest/api/3/myself")
        for key in self.cfg.projects:
            try:
                self.http.get(f"/rest/api/3/project/{key}")
            except NotFoundError:
                raise ConfigError(f"jira: no project {key!r} (or this account cannot browse it)") from None

    # -- permissions ---------------------------------------------------------------------------------------

    def _holder(self, holder: dict) -> tuple[str | None, str | None]:
        """(principal, unresolved description) for a permission holder."""
        kind, value = holder.get("type"), holder.get("parameter")
        if kind == "anyone":
            return PUBLIC, None
        if kind == "group":
            return f"group:{value}", None
        if kind == "user":
            return f"user:jira:{value}", None
        return None, f"{kind}:{value}" if value else str(kind)

    def _project(self, key: str) -> tuple[list[str], list[str]]:
        if key not in self._projects:
            scheme = self.http.get(f"/rest/api/3/project/{key}/permissionscheme")
            full = self.http.get(f"/rest/api/3/permissionscheme/{scheme['id']}", expand="permissions")
            granted, unresolved = set(), set()
            for grant in full.get("permissions", []):
                if grant.get("permission") != "BROWSE_PROJECTS":
                    continue
                principal, other = self._holder(grant.get("holder") or {})
                granted |= {principal} if principal else set()
                unresolved |= {other} if other else set()
            self._projects[key] = (sorted(granted), sorted(unresolved))
        return self._projects[key]

    def _level(self, level_id: str) -> tuple[list[str], list[str]]:
        if level_id not in self._levels:
            granted, unresolved = set(), set()
            start = 0
            while True:
                page = self.http.get("/rest/api/3/issuesecurityschemes/level/member", levelId=level_id, startAt=start)
                for member in page.get("values", []):
                    principal, other = self._holder(member.get("holder") or {})
                    granted |= {principal} if principal else set()
                    unresolved |= {other} if other else set()
                if page.get("isLast", True):
                    break
                start += len(page.get("values", [])) or 1
            self._levels[level_id] = (sorted(granted), sorted(unresolved))
        return self._levels[level_id]

    def _acl(self, issue: dict) -> tuple[list[str], list[str]]:
        acl, unresolved = self._effective(issue)
        self._groups |= {p.removeprefix("group:") for p in acl if p.startswith("group:")}
        return acl, unresolved

    def memberships(self) -> Iterator[tuple[str, str]]:
        """Members of every group the synced issues' ACLs name (`/rest/api/3/group/member`)."""
        try:
            for name in sorted(self._groups):
                start = 0
                while True:
                    try:
                        page = self.http.get("/rest/api/3/group/member", groupname=name, startAt=start, maxResults=50)
                    except NotFoundError:
                        break  # the group is gone at the source: it has no members
                    for user in page.get("values", []):
                        email = user.get("emailAddress")
                        yield (f"user:{email}" if email else f"user:jira:{user.get('accountId')}"), f"group:{name}"
                    if page.get("isLast", True) or not page.get("values"):
                        break
                    start += len(page["values"])
        finally:
            self.close()

    def _effective(self, issue: dict) -> tuple[list[str], list[str]]:
        if self.acl:
            return list(self.acl), []
        project, unresolved = self._project(issue["fields"]["project"]["key"])
        security = issue["fields"].get("security")
        if not security:
            return project or ["user:nobody"], unresolved
        members, more = self._level(str(security["id"]))
        # Jira shows the issue to whoever may browse the project AND is in the level. An ACL is a list of
        # alternatives, so keep only the level's members that the project grants too (all of them when the
        # project is open to anyone); the rest would need group memberships Citewise does not have: never
        # granted, named in the metadata.
        allowed = [m for m in members if PUBLIC in project or m in project]
        dropped = [f"level:{m}" for m in members if m not in allowed]
        return sorted(allowed) or ["user:nobody"], sorted({*unresolved, *more, *dropped})

    # -- listing and loading -------------------------------------------------------------------------------

    def _issues(self, fields: str = FIELDS) -> Iterator[dict]:
        projects = ", ".join(json.dumps(p) for p in self.cfg.projects)
        params: dict[str, Any] = {"jql": f"project in ({projects}) ORDER BY updated ASC", "fields": fields,
                                  "maxResults": self.cfg.page_size}  # fmt: skip
        while True:
            page = self.http.get("/rest/api/3/search/jql", **params)
            yield from page.get("issues", [])
            if page.get("isLast", True) or not page.get("nextPageToken"):
                return
            params["nextPageToken"] = page["nextPageToken"]

    def _uri(self, issue: dict) -> str:
        return f"{self.cfg.base_url.rstrip('/')}/browse/{issue['key']}"

    def list_ids(self) -> Iterator[str]:
        for issue in self._issues(fields="updated"):
            yield issue["key"]

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        try:
            for issue in self._issues():
                uri, fields = self._uri(issue), issue["fields"]
                acl, unresolved = self._acl(issue)
                version = f"{fields['updated']}|{acl_tag(acl)}"
                if self.unchanged(uri, version):
                    yield UnchangedItem(key=issue["key"], uri=uri)
                    yield from self._attachments(issue, uri, acl, version)  # listed, not fetched
                    continue
                comments = (fields.get("comment") or {}).get("comments", [])
                if (fields.get("comment") or {}).get("total", 0) > len(comments):
                    comments = list(self._comments(issue["key"]))
                parts = [f"# {issue['key']}: {fields.get('summary', '')}", adf_text(fields.get("description"))]
                for c in comments:
                    who = (c.get("author") or {}).get("displayName", "someone")
                    parts.append(f"**{who}** commented:\n\n{adf_text(c.get('body'))}")
                title = f"{issue['key']}: {fields.get('summary', '')}"
                yield RawDocument(
                    source_id=self.source_id, key=issue["key"], uri=uri, title=title,
                    content="\n\n".join(p.strip() for p in parts if p and p.strip()).encode(), version=version, acl=acl,
                    modified_at=fields["updated"],
                    metadata={"filename": "issue.md", "project": fields["project"]["key"], "link": uri,
                              "status": (fields.get("status") or {}).get("name", ""),
                              "acl_security_level": (fields.get("security") or {}).get("name", ""),
                              "acl_unresolved": ",".join(unresolved)},
                )  # fmt: skip
                yield from self._attachments(issue, uri, acl, version)
        finally:
            self.close()

    def _attachments(self, issue: dict, issue_uri: str, acl: list[str], issue_version: str) -> Iterator[Any]:
        """The issue's attachments as documents of their own with its ACL (an attachment never changes: a new
        upload is a new attachment id), downloaded only when not indexed yet."""
        if not self.cfg.include_attachments:
            return
        tag = issue_version.rsplit("|", 1)[1]
        for att in issue["fields"].get("attachment") or []:
            uri = f"{issue_uri}#attachment-{att['id']}"
            version = f"{att['id']}|{tag}"
            if self.unchanged(uri, version):
                yield UnchangedItem(key=att["id"], uri=uri)
                continue
            if att.get("size", 0) > self.cfg.max_attachment_bytes:
                yield FailedItem(
                    key=att["id"], uri=uri, error=f"the attachment is {att['size']:,} bytes, over max_attachment_bytes"
                )
                continue
            try:
                content = self.http.download(att["content"], self.cfg.max_attachment_bytes)
            except CitewiseError as exc:
                yield FailedItem(key=att["id"], uri=uri, error=str(exc))
                continue
            meta = {"filename": att["filename"], "attached_to": issue_uri, "size_bytes": len(content)}
            yield RawDocument(
                source_id=self.source_id, key=att["id"], uri=uri, title=f"{att['filename']} ({issue['key']})",
                content=content, version=version, acl=acl, mime_type=att.get("mimeType"), metadata=meta,
            )  # fmt: skip

    def _comments(self, key: str) -> Iterator[dict]:
        start = 0
        while True:
            page = self.http.get(f"/rest/api/3/issue/{key}/comment", startAt=start, maxResults=100)
            yield from page.get("comments", [])
            start += len(page.get("comments", []))
            if start >= page.get("total", 0) or not page.get("comments"):
                return

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
