"""Google Drive: the files a service account can read (shared with it, or a user's through domain-wide
delegation with `subject`), with their permissions, through the Drive API v3.

- Change feed: the Changes API. The first sync lists every file (`files.list`) and saves the start page
  token; later syncs read `changes.list` from the saved token (`newStartPageToken` is the next one), removed
  and trashed files included. A change of permissions alone updates the ACL payloads without downloading.
- Content: Google Docs and Slides exported as text, Sheets as CSV; other files downloaded (`alt=media`).
- Permissions (`permissions.list`): users as `user:<email>`, groups as `group:<email>`; `domain` grants
  count as the whole tenant for the domains in `domains`; `anyone` (anyone with the link) only with
  `anyone_with_link: true`.
- Group members (`sync_groups`): the members of the Google groups the synced ACLs name, nested groups
  expanded (`includeDerivedMembership`), from the Admin SDK Directory API acting as an admin
  (`groups_subject`, domain-wide delegation with scope `admin.directory.group.member.readonly`). Every
  group known from earlier syncs is listed again, so a member removed from a group (which changes no
  file) loses its files on the next sync. Without it, a user's groups come from their API key.
- Auth: a service account key (the JSON file's content, stored encrypted): a JWT signed with its key is
  exchanged for a token (RFC 7523), refreshed before it expires. Scope `drive.readonly`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from pydantic import Field, SecretStr

from citewise.connectors.base import (
    ChangeFeedConnector,
    ConnectorConfig,
    DeletedItem,
    FailedItem,
    LoadConnector,
    MembershipConnector,
    PermissionsChanged,
    TextList,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.connectors.http import OAuthBearer, VendorHTTP
from citewise.errors import CitewiseError, ConfigError, NotFoundError, TransientError
from citewise.models import PUBLIC, RawDocument

SCOPE = "https://www.googleapis.com/auth/drive.readonly"
GROUPS_SCOPE = "https://www.googleapis.com/auth/admin.directory.group.member.readonly"
FILE_FIELDS = "id,name,mimeType,modifiedTime,md5Checksum,size,trashed,webViewLink,version"
CHANGE_FIELDS = f"nextPageToken,newStartPageToken,changes(fileId,removed,file({FILE_FIELDS}))"
EXPORTS = {
    "application/vnd.google-apps.document": ("text/plain", "doc.txt"),
    "application/vnd.google-apps.presentation": ("text/plain", "slides.txt"),
    "application/vnd.google-apps.spreadsheet": ("text/csv", "sheet.csv"),
}
SKIP_TYPES = {"application/vnd.google-apps.folder", "application/vnd.google-apps.shortcut",
              "application/vnd.google-apps.form", "application/vnd.google-apps.map"}  # fmt: skip


class DriveConfig(ConnectorConfig):
    service_account_json: SecretStr = Field(description="the service account key file's JSON content")
    subject: str | None = Field(None, description="with domain-wide delegation: the user to act as")
    domains: TextList = Field(default_factory=list, description="domain grants that mean the whole tenant")
    anyone_with_link: bool = Field(False, description="count 'anyone with the link' files as the whole tenant")
    sync_groups: bool = Field(False, description="sync the members of the Google groups the ACLs name")
    groups_subject: str | None = Field(None, description="with sync_groups: the admin to act as (delegation)")
    api_url: str = Field("https://www.googleapis.com", description="the API (a test server in the tests)")
    admin_api_url: str = Field("https://admin.googleapis.com", description="the Admin SDK (for sync_groups)")
    max_bytes: int = Field(100_000_000, ge=1)
    timeout_s: float = Field(30.0, gt=0)


class _ServiceAccount(OAuthBearer):
    """The JWT bearer grant (RFC 7523): claims signed with the service account's key, exchanged for a token."""

    name = "gdrive"

    def __init__(self, cfg: DriveConfig, scope: str, subject: str | None) -> None:
        super().__init__(cfg.timeout_s)
        try:
            self.key = json.loads(cfg.service_account_json.get_secret_value())
            self.key["client_email"], self.key["private_key"], self.key["token_uri"]  # noqa: B018 - required fields
        except (ValueError, KeyError, TypeError):
            raise ConfigError("gdrive: service_account_json is not a service account key (JSON with client_email, "
                              "private_key, token_uri)") from None  # fmt: skip
        self.scope, self.subject = scope, subject

    def token_request(self) -> tuple[str, dict[str, str]]:
        import jwt

        now = int(time.time())
        claims = {"iss": self.key["client_email"], "scope": self.scope, "aud": self.key["token_uri"], "iat": now,
                  "exp": now + 3600} | ({"sub": self.subject} if self.subject else {})  # fmt: skip
        try:
            assertion = jwt.encode(claims, self.key["private_key"], algorithm="RS256")
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"gdrive: the service account's private key cannot sign: {type(exc).__name__}") from None
        return self.key["token_uri"], {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion,
        }


class DriveConnector(LoadConnector, ChangeFeedConnector, VersionedConnector, MembershipConnector):
    kind = "gdrive"
    Config = DriveConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: DriveConfig = parse_config(DriveConfig, config, self.kind)
        if self.cfg.sync_groups and not self.cfg.groups_subject:
            raise ConfigError("gdrive: sync_groups needs groups_subject, an admin the service account may act as")
        self._auth = _ServiceAccount(self.cfg, SCOPE, self.cfg.subject)
        self._http: VendorHTTP | None = None
        self._groups: set[str] = set()  # group e-mails the ACLs read in this sync named

    @property
    def source_id(self) -> str:
        return f"gdrive:{self._auth.key['client_email']}:{self.cfg.subject or ''}"

    @property
    def http(self) -> VendorHTTP:
        if self._http is None:
            self._http = VendorHTTP(self.cfg.api_url, name="gdrive", auth=self._auth, timeout_s=self.cfg.timeout_s)
        return self._http

    def validate(self) -> None:
        try:
            self.http.get("/drive/v3/about", fields="user")
            if self.cfg.sync_groups:
                with self._directory() as directory:
                    directory.get("/admin/directory/v1/groups", customer="my_customer", maxResults=1)
        except TransientError as exc:
            raise ConfigError(str(exc)) from None

    def _directory(self) -> VendorHTTP:
        auth = _ServiceAccount(self.cfg, GROUPS_SCOPE, self.cfg.groups_subject)
        return VendorHTTP(self.cfg.admin_api_url, name="gdrive directory", auth=auth, timeout_s=self.cfg.timeout_s)

    def memberships(self) -> Iterator[tuple[str, str]]:
        """Members (users, nested groups expanded) of the groups the ACLs named, in this sync or before."""
        if not self.cfg.sync_groups:
            return
        groups = self._groups | {g.removeprefix("group:") for g in self.known_groups}
        with self._directory() as directory:
            for group in sorted(groups):
                token = None
                while True:
                    try:
                        page = directory.get(f"/admin/directory/v1/groups/{group}/members", maxResults=200,
                                             includeDerivedMembership="true", pageToken=token)  # fmt: skip
                    except NotFoundError:
                        break  # gone, or a group outside the domain: no members known
                    for member in page.get("members", []):
                        if member.get("type") == "USER" and member.get("status", "ACTIVE") == "ACTIVE":
                            yield f"user:{member['email'].lower()}", f"group:{group}"
                    token = page.get("nextPageToken")
                    if not token:
                        break

    def membership_scope(self) -> set[str] | None:
        """Without sync_groups nothing is replaced; otherwise every known group was listed again: all are."""
        return None if self.cfg.sync_groups else set()

    def _acl(self, file_id: str) -> list[str]:
        if self.acl:
            return list(self.acl)
        data = self.http.get(f"/drive/v3/files/{file_id}/permissions", supportsAllDrives="true",
                             fields="permissions(id,type,role,emailAddress,domain,deleted)")  # fmt: skip
        principals = set()
        for perm in data.get("permissions", []):
            kind = perm.get("type")
            if perm.get("deleted") or perm.get("role") not in (
                "reader",
                "commenter",
                "writer",
                "fileOrganizer",
                "organizer",
                "owner",
            ):
                continue
            if kind == "user" and perm.get("emailAddress"):
                principals.add(f"user:{perm['emailAddress'].lower()}")
            elif kind == "group" and perm.get("emailAddress"):
                principals.add(f"group:{perm['emailAddress'].lower()}")
                self._groups.add(perm["emailAddress"].lower())
            elif kind == "domain" and perm.get("domain") in self.cfg.domains:
                principals.add(PUBLIC)
            elif kind == "anyone" and self.cfg.anyone_with_link:
                principals.add(PUBLIC)
        return sorted(principals) or ["user:nobody"]

    def _uri(self, file_id: str) -> str:
        return f"gdrive:{file_id}"

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem | DeletedItem | PermissionsChanged]:
        try:
            if self.cursor is None:
                start = self.http.get("/drive/v3/changes/startPageToken", supportsAllDrives="true")["startPageToken"]
                token = None
                while True:
                    page = self.http.get("/drive/v3/files", q="trashed = false", pageSize=100, pageToken=token,
                                         fields=f"nextPageToken,files({FILE_FIELDS})", supportsAllDrives="true",
                                         includeItemsFromAllDrives="true")  # fmt: skip
                    for file in page.get("files", []):
                        if file.get("mimeType") not in SKIP_TYPES:
                            yield self._file(file)
                    token = page.get("nextPageToken")
                    if not token:
                        break
                self.next_cursor = start
                return
            token = self.cursor
            while True:
                page = self.http.get("/drive/v3/changes", pageToken=token, pageSize=100, includeRemoved="true",
                                     supportsAllDrives="true", includeItemsFromAllDrives="true",
                                     fields=CHANGE_FIELDS)  # fmt: skip
                for change in page.get("changes", []):
                    file = change.get("file") or {}
                    if change.get("removed") or file.get("trashed"):
                        yield DeletedItem(key=change["fileId"], uri=self._uri(change["fileId"]))
                    elif file and file.get("mimeType") not in SKIP_TYPES:
                        yield self._file(file)
                if page.get("newStartPageToken"):
                    self.next_cursor = page["newStartPageToken"]
                    return
                token = page["nextPageToken"]
        finally:
            self.close()

    def _file(self, file: dict) -> RawDocument | FailedItem | UnchangedItem | PermissionsChanged:
        uri = self._uri(file["id"])
        try:
            acl = self._acl(file["id"])
            content_tag = f"{file.get('md5Checksum') or file.get('modifiedTime')}|{file.get('name', '')}"
            version = f"{content_tag}|{acl_tag(acl)}"
            known = getattr(self, "known_versions", {}).get(uri)
            if known == version:
                return UnchangedItem(key=file["id"], uri=uri)
            if known and known.rsplit("|", 1)[0] == content_tag:
                return PermissionsChanged(key=file["id"], uri=uri, acl=acl, version=version)
            if int(file.get("size") or 0) > self.cfg.max_bytes:
                return FailedItem(
                    key=file["id"], uri=uri, error=f"the file is {int(file['size']):,} bytes, over max_bytes"
                )
            export = EXPORTS.get(file.get("mimeType", ""))
            if export:
                content = self.http.download(
                    f"/drive/v3/files/{file['id']}/export?mimeType={export[0]}", self.cfg.max_bytes
                )
                filename = export[1]
            else:
                content = self.http.download(
                    f"/drive/v3/files/{file['id']}?alt=media&supportsAllDrives=true", self.cfg.max_bytes
                )
                filename = file.get("name", file["id"])
        except CitewiseError as exc:
            return FailedItem(key=file["id"], uri=uri, error=str(exc))
        return RawDocument(
            source_id=self.source_id, key=file["id"], uri=uri, title=file.get("name", file["id"]), content=content,
            modified_at=file.get("modifiedTime"), version=version, acl=acl, mime_type=file.get("mimeType"),
            metadata={"filename": filename, "link": file.get("webViewLink", ""), "size_bytes": len(content)},
        )  # fmt: skip

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
