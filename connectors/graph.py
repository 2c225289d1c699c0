"""SharePoint document libraries and OneDrive drives through Microsoft Graph, with item permissions.

- Change feed: `/drives/{id}/root/delta`. The first sync enumerates the drive; later syncs start from the
  saved `@odata.deltaLink` and see only changes, deletions included (`deleted` facet). With
  `Prefer: deltashowsharingchanges, hierarchicalsharing`, items whose sharing changed are flagged
  (`@microsoft.graph.sharedChanged`); a folder flagged so makes every known file's permissions be read
  again (its descendants inherit them). A permission-only change never downloads the file.
- Permissions (`/items/{id}/permissions`, roles read/write/owner): users as `user:<email>` (`user:graph:<object
  id>` without an e-mail: see `citewise identities`), Entra groups as `group:<name>`, SharePoint site groups as
  `group:sp:<name>`, organization-wide and anonymous links as the whole tenant.
- Auth: OAuth 2.0 client credentials (an Entra app's client id and secret, `Files.Read.All` or
  `Sites.Read.All` application permission); the token is refreshed before it expires and after a 401.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, SecretStr, model_validator

from citewise.connectors.base import (
    ChangeFeedConnector,
    ConnectorConfig,
    DeletedItem,
    FailedItem,
    LoadConnector,
    MembershipConnector,
    PermissionsChanged,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.connectors.http import OAuthBearer, VendorHTTP
from citewise.errors import CitewiseError, ConfigError, NotFoundError, TransientError
from citewise.models import PUBLIC, RawDocument

PREFER = "deltashowsharingchanges, hierarchicalsharing"
READ_ROLES = {"read", "write", "owner"}


class GraphConfig(ConnectorConfig):
    tenant_id: str = Field(description="the Entra (Azure AD) tenant id")
    client_id: str = Field(description="the app registration's client id")
    client_secret: SecretStr = Field(description="a client secret of the app")
    drive_id: str | None = Field(None, description="the drive (document library or OneDrive) to index")
    site_id: str | None = Field(None, description="or a SharePoint site: its default document library")
    folder: str | None = Field(None, description="only files under this folder path, e.g. /Policies")
    login_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    max_bytes: int = Field(100_000_000, ge=1)
    timeout_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _one_drive(self) -> GraphConfig:
        if bool(self.drive_id) == bool(self.site_id):
            raise ValueError("give drive_id or site_id")
        return self


class _ClientCredentials(OAuthBearer):
    """The client-credentials grant of the Microsoft identity platform."""

    name, hint = "graph", "check tenant_id, client_id and the secret"

    def __init__(self, cfg: GraphConfig) -> None:
        super().__init__(cfg.timeout_s)
        self.cfg = cfg

    def token_request(self) -> tuple[str, dict[str, str]]:
        cfg = self.cfg
        form = {"client_id": cfg.client_id, "client_secret": cfg.client_secret.get_secret_value(),
                "scope": "https://graph.microsoft.com/.default", "grant_type": "client_credentials"}  # fmt: skip
        return f"{cfg.login_url.rstrip('/')}/{cfg.tenant_id}/oauth2/v2.0/token", form


class GraphConnector(LoadConnector, ChangeFeedConnector, VersionedConnector, MembershipConnector):
    kind = "sharepoint"
    Config = GraphConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: GraphConfig = parse_config(GraphConfig, config, self.kind)
        self._http: VendorHTTP | None = None
        self._drive: str | None = self.cfg.drive_id
        self._groups: dict[str, str] = {}  # Entra group id -> display name, for the groups the ACLs name

    @property
    def source_id(self) -> str:
        where = self.cfg.drive_id or f"site:{self.cfg.site_id}"
        return f"graph:{self.cfg.tenant_id}:{where}:{self.cfg.folder or '/'}"

    @property
    def http(self) -> VendorHTTP:
        if self._http is None:
            self._http = VendorHTTP(self.cfg.graph_url, name="graph", auth=_ClientCredentials(self.cfg),
                                    headers={"Prefer": PREFER}, timeout_s=self.cfg.timeout_s)  # fmt: skip
        return self._http

    @property
    def drive(self) -> str:
        if self._drive is None:
            try:
                self._drive = self.http.get(f"/sites/{self.cfg.site_id}/drive")["id"]
            except NotFoundError:
                raise ConfigError(f"graph: no site {self.cfg.site_id!r} (or the app may not read it)") from None
        return self._drive

    def validate(self) -> None:
        try:
            self.http.get(f"/drives/{self.drive}")
        except NotFoundError:
            raise ConfigError(f"graph: no drive {self.drive!r} (or the app may not read it)") from None
        except TransientError as exc:
            raise ConfigError(str(exc)) from None

    # -- permissions -------------------------------------------------------------------------------------

    def _acl(self, item_id: str) -> list[str]:
        if self.acl:
            return list(self.acl)
        principals: set[str] = set()
        for perm in self.http.get(f"/drives/{self.drive}/items/{item_id}/permissions").get("value", []):
            if not READ_ROLES & set(perm.get("roles", [])):
                continue
            scope = (perm.get("link") or {}).get("scope")
            if scope in ("organization", "anonymous"):
                principals.add(PUBLIC)
            granted = [perm.get("grantedToV2") or {}] + list(perm.get("grantedToIdentitiesV2") or [])
            for identity in granted:
                if user := identity.get("user"):
                    email = user.get("email")
                    principals.add(f"user:{email}" if email else f"user:graph:{user.get('id')}")
                if group := identity.get("group"):
                    name = group.get("displayName") or group.get("id")
                    principals.add(f"group:{name}")
                    if group.get("id"):
                        self._groups[group["id"]] = name
                if site_group := identity.get("siteGroup"):
                    principals.add(f"group:sp:{site_group.get('displayName')}")
        return sorted(principals) or ["user:nobody"]

    def memberships(self) -> Iterator[tuple[str, str]]:
        """Members of the Entra groups the ACLs name, in this sync or an earlier one (`known_groups`, found
        again by name), nested groups expanded (`/groups/{id}/transitiveMembers`, users only). Needs the
        `GroupMember.Read.All` application permission."""
        try:
            groups = dict(self._groups)
            for name in sorted(g.removeprefix("group:") for g in self.known_groups):
                if name not in groups.values() and (group_id := self._group_id(name)):
                    groups[group_id] = name
            for group_id, name in sorted(groups.items()):
                url = f"/groups/{group_id}/transitiveMembers"
                params: dict[str, Any] = {"$select": "id,mail,userPrincipalName"}
                while url:
                    try:
                        page = self.http.get(url, **params)
                    except NotFoundError:
                        break  # the group is gone
                    for member in page.get("value", []):
                        if member.get("@odata.type", "#microsoft.graph.user") != "#microsoft.graph.user":
                            continue
                        email = member.get("mail")
                        yield (f"user:{email.lower()}" if email else f"user:graph:{member.get('id')}"), f"group:{name}"
                    url, params = page.get("@odata.nextLink", ""), {}
        finally:
            self.close()

    def _group_id(self, name: str) -> str | None:
        """A known group's id by its display name (None when it is gone)."""
        escaped = name.replace("'", "''")
        found = self.http.get("/groups", **{"$filter": f"displayName eq '{escaped}'", "$select": "id,displayName"})
        return next((g["id"] for g in found.get("value", [])), None)

    def membership_scope(self) -> set[str] | None:
        """Every group known was listed again (see `memberships`): all of the source's are replaced."""
        return None

    # -- the change feed ---------------------------------------------------------------------------------

    def _uri(self, item_id: str) -> str:
        return f"graph:{self.drive}:{item_id}"

    def _inside(self, item: dict) -> bool:
        if not self.cfg.folder:
            return True
        path = (item.get("parentReference") or {}).get("path", "")
        base = "/drive/root:" + self.cfg.folder.rstrip("/")
        return path == base or path.startswith(base + "/")

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem | DeletedItem | PermissionsChanged]:
        url = self.cursor or f"/drives/{self.drive}/root/delta"
        rescan, handled = False, set()
        try:
            while True:
                try:
                    page = self.http.get(url)
                except ConfigError as exc:
                    if self.cursor and "410" in str(exc):
                        raise TransientError("graph: the delta link expired; the next sync starts over") from None
                    raise
                for item in page.get("value", []):
                    if "deleted" in item:
                        yield DeletedItem(key=item["id"], uri=self._uri(item["id"]))
                        continue
                    if "folder" in item or "root" in item:
                        rescan |= bool(item.get("@microsoft.graph.sharedChanged"))
                        continue
                    if (
                        "file" in item
                        and not self._inside(item)
                        and self._uri(item["id"]) in getattr(self, "known_versions", {})
                    ):  # moved out of the configured folder
                        yield DeletedItem(key=item["id"], uri=self._uri(item["id"]))
                        continue
                    if "file" not in item or not self._inside(item):
                        continue
                    handled.add(self._uri(item["id"]))
                    yield self._file(item)
                if "@odata.nextLink" in page:
                    url = page["@odata.nextLink"]
                    continue
                self.next_cursor = page.get("@odata.deltaLink")
                break
            if rescan:  # a folder's sharing changed: its files inherit it; read every known file's permissions again
                for uri in set(getattr(self, "known_versions", {})) - handled:
                    item_id = uri.rsplit(":", 1)[1]
                    try:
                        yield self._permissions_only(uri, item_id)
                    except NotFoundError:
                        yield DeletedItem(key=item_id, uri=uri)
        finally:
            self.close()

    def _version(self, item: dict, acl: list[str]) -> str:
        tag = acl_tag(acl)
        return f"{item.get('cTag', item.get('eTag', ''))}|{item.get('name', '')}|{tag}"

    def _permissions_only(self, uri: str, item_id: str) -> UnchangedItem | PermissionsChanged:
        known = self.known_versions[uri]
        acl = self._acl(item_id)
        version = known.rsplit("|", 1)[0] + "|" + acl_tag(acl)
        if version == known:
            return UnchangedItem(key=item_id, uri=uri)
        return PermissionsChanged(key=item_id, uri=uri, acl=acl, version=version)

    def _file(self, item: dict) -> RawDocument | FailedItem | UnchangedItem | PermissionsChanged:
        uri = self._uri(item["id"])
        try:
            acl = self._acl(item["id"])
            version = self._version(item, acl)
            known = getattr(self, "known_versions", {}).get(uri)
            if known == version:
                return UnchangedItem(key=item["id"], uri=uri)
            if known and known.rsplit("|", 1)[0] == version.rsplit("|", 1)[0]:
                return PermissionsChanged(key=item["id"], uri=uri, acl=acl, version=version)
            if item.get("size", 0) > self.cfg.max_bytes:
                return FailedItem(key=item["id"], uri=uri, error=f"the file is {item['size']:,} bytes, over max_bytes")
            content = self.http.download(f"/drives/{self.drive}/items/{item['id']}/content", self.cfg.max_bytes)
        except CitewiseError as exc:
            return FailedItem(key=item["id"], uri=uri, error=str(exc))
        return RawDocument(
            source_id=self.source_id, key=item["id"], uri=uri, title=item.get("name", item["id"]), content=content,
            mime_type=(item.get("file") or {}).get("mimeType"), modified_at=item.get("lastModifiedDateTime"),
            version=version, acl=acl,
            metadata={"filename": item.get("name", ""), "size_bytes": item.get("size", len(content)),
                      "link": item.get("webUrl", ""), "path": (item.get("parentReference") or {}).get("path", "")},
        )  # fmt: skip

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
