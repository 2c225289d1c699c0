"""A TEST SERVER, not Microsoft Graph: the token endpoint of the Microsoft identity platform and the subset
of Graph v1.0 the SharePoint/OneDrive connector uses, shaped as Microsoft's reference documents it.

`POST /{tenant}/oauth2/v2.0/token` (client credentials; `invalid_client` for a wrong secret; tokens that
expire), `GET /v1.0/sites/{id}/drive`, `/drives/{id}`, `/drives/{id}/root/delta` (`@odata.nextLink`,
`@odata.deltaLink` with a token; `deleted` facets; `@microsoft.graph.sharedChanged` with
`Prefer: deltashowsharingchanges`; 410 for an unknown token), `/drives/{id}/items/{id}/permissions`
(`grantedToV2`, `link.scope`), `/drives/{id}/items/{id}/content` (302 to a download URL), `/groups/{id}/members` and `/transitiveMembers`, `/groups?$filter=displayName eq '…'`. 401
`InvalidAuthenticationToken` for a missing or expired token, 429 with Retry-After on request.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

from tests.connectors.test_servers.base import LoopbackServer, VendorHandler

CLIENT_ID, CLIENT_SECRET, TENANT = "11111111-2222-3333-4444-555555555555", "graph~secret~0099", "contoso-tenant"


class GraphTestServer(LoopbackServer):
    def __init__(self) -> None:
        self.drive = "b!drive-1"
        self.items: dict[str, dict] = {}  # id -> {name, parent, folder, content, perms, seq, deleted, shared_seq}
        self.seq = itertools.count(1)
        self.tokens: dict[str, float] = {}  # access token -> expiry
        self.token_lifetime = 3600
        self.busy: list[str] = []
        self.requests: list[str] = []
        self.group_members: dict[str, list[str]] = {}  # Entra group id -> member e-mails
        self.add("root", "root", None, folder=True)
        outer = self

        class Handler(VendorHandler):
            def _error(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
                self._send(
                    status, {"error": {"code": code, "message": message, "innerError": {"request-id": "t"}}}, headers
                )

            def do_POST(self) -> None:  # noqa: N802
                form = {
                    k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()
                }
                if self.path != f"/{TENANT}/oauth2/v2.0/token":
                    return self._send(
                        400, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}
                    )
                if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                    return self._send(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.",
                                            "error_codes": [7000215]})  # fmt: skip
                token = secrets.token_urlsafe(16)
                outer.tokens[token] = time.time() + outer.token_lifetime
                return self._send(200, {"token_type": "Bearer", "expires_in": outer.token_lifetime, "ext_expires_in": outer.token_lifetime,
                                        "access_token": token})  # fmt: skip

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                parts = urlsplit(self.path)
                path, q = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
                if m := re.fullmatch(r"/download/(.+)", path):
                    item = outer.items.get(m.group(1))
                    return (
                        self._send(200, item["content"]) if item else self._error(404, "itemNotFound", "Item not found")
                    )
                for prefix in list(outer.busy):
                    if path.startswith(prefix):
                        outer.busy.remove(prefix)
                        return self._error(429, "activityLimitReached", "Too many requests", {"Retry-After": "1"})
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if outer.tokens.get(token, 0) < time.time():
                    return self._error(
                        401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
                    )
                if path == "/v1.0/groups":  # only `$filter=displayName eq '<name>'`
                    m = re.fullmatch(r"displayName eq '((?:[^']|'')*)'", q.get("$filter", ""))
                    if not m:
                        return self._error(400, "Request_UnsupportedQuery", "Unsupported query.")
                    name = m.group(1).replace("''", "'")
                    value = [{"id": gid, "displayName": gid.removeprefix("gid-")} for gid in outer.group_members
                             if gid.removeprefix("gid-") == name]  # fmt: skip
                    return self._send(200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups",
                                            "value": value})  # fmt: skip
                if m := re.fullmatch(r"/v1.0/groups/([^/]+)/(members|transitiveMembers)", path):
                    members = outer.group_members.get(m.group(1))
                    if members is None:
                        return self._error(404, "Request_ResourceNotFound", f"Resource '{m.group(1)}' does not exist.")
                    value = outer.members(m.group(1), transitive=m.group(2) == "transitiveMembers")
                    return self._send(
                        200,
                        {
                            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
                            "value": value,
                        },
                    )
                if path == "/v1.0/sites/contoso.sharepoint.com,site-1/drive":
                    return self._send(200, {"id": outer.drive, "driveType": "documentLibrary", "name": "Documents"})
                if not path.startswith(f"/v1.0/drives/{outer.drive}"):
                    return self._error(404, "itemNotFound", "The resource could not be found.")
                rest = path.removeprefix(f"/v1.0/drives/{outer.drive}")
                if rest == "":
                    return self._send(200, {"id": outer.drive, "driveType": "documentLibrary", "name": "Documents"})
                if rest == "/root/delta":
                    return self._delta(q, "deltashowsharingchanges" in self.headers.get("Prefer", ""))
                if m := re.fullmatch(r"/items/([^/]+)/permissions", rest):
                    item = outer.items.get(m.group(1))
                    if item is None or item["deleted"]:
                        return self._error(404, "itemNotFound", "Item not found")
                    return self._send(200, {"value": outer.effective_permissions(m.group(1))})
                if m := re.fullmatch(r"/items/([^/]+)/content", rest):
                    return self._send(302, b"", {"Location": f"{outer.url}/download/{m.group(1)}"})
                return self._error(404, "itemNotFound", "The resource could not be found.")

            def _delta(self, q: dict, sharing: bool) -> None:
                since = int(q["token"]) if "token" in q else None
                if since is not None and since > outer.last_seq():
                    return self._error(410, "resyncRequired", "The delta token is no longer valid.")
                if since is None:
                    changed = [i for i in outer.items.values() if not i["deleted"]]
                else:
                    changed = [i for i in outer.items.values()
                               if i["seq"] > since or (sharing and i["shared_seq"] > since)]  # fmt: skip
                start = int(q.get("skip", 0))
                chunk = changed[start : start + 3]
                body: dict = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)",
                              "value": [outer.item_object(i, since, sharing) for i in chunk]}  # fmt: skip
                base = f"{outer.url}/v1.0/drives/{outer.drive}/root/delta"
                if start + 3 < len(changed):
                    token = f"token={since}&" if since is not None else ""
                    body["@odata.nextLink"] = f"{base}?{token}skip={start + 3}"
                else:
                    body["@odata.deltaLink"] = f"{base}?token={outer.last_seq()}"
                return self._send(200, body)

        self.serve(Handler)

    def last_seq(self) -> int:
        return max(max(i["seq"], i["shared_seq"]) for i in self.items.values())

    def add(self, item_id: str, name: str, parent: str | None, *, folder: bool = False, content: bytes = b"",
            perms: list[dict] | None = None) -> None:  # fmt: skip
        self.items[item_id] = {"id": item_id, "name": name, "parent": parent, "folder": folder, "content": content,
                               "perms": perms, "seq": next(self.seq), "deleted": False, "shared_seq": 0,
                               "ctag": 1}  # fmt: skip

    def write(self, item_id: str, content: bytes) -> None:
        item = self.items[item_id]
        item.update(content=content, seq=next(self.seq), ctag=item["ctag"] + 1)

    def move(self, item_id: str, parent: str) -> None:
        self.items[item_id].update(parent=parent, seq=next(self.seq))

    def delete(self, item_id: str) -> None:
        self.items[item_id].update(deleted=True, seq=next(self.seq))

    def share(self, item_id: str, perms: list[dict] | None) -> None:
        """New permissions (None = inherit from the parent): a sharing change, not a content change."""
        self.items[item_id].update(perms=perms, shared_seq=next(self.seq))

    def path_of(self, item_id: str) -> str:
        parts, node = [], self.items[item_id]["parent"]
        while node and node != "root":
            parts.insert(0, self.items[node]["name"])
            node = self.items[node]["parent"]
        return "/drive/root:" + ("/" + "/".join(parts) if parts else "")

    def effective_permissions(self, item_id: str) -> list[dict]:
        node = item_id
        while node is not None:
            perms = self.items[node]["perms"]
            if perms is not None:
                inherited = node != item_id
                return [
                    p | ({"inheritedFrom": {"driveId": self.drive, "id": node}} if inherited else {}) for p in perms
                ]
            node = self.items[node]["parent"]
        return []

    def item_object(self, i: dict, since: int | None, sharing: bool) -> dict:
        out = {"id": i["id"], "name": i["name"], "eTag": f'"{{{i["id"]}}},{i["seq"]}"', "cTag": f'"c:{{{i["id"]}}},{i["ctag"]}"',
               "lastModifiedDateTime": "2026-11-30T10:00:00Z", "size": len(i["content"]),
               "webUrl": f"https://contoso.sharepoint.com/Shared%20Documents/{i['name']}",
               "parentReference": {"driveId": self.drive, "driveType": "documentLibrary", "id": i["parent"] or "",
                                   "path": self.path_of(i["id"]) if i["parent"] else ""}}  # fmt: skip
        if i["id"] == "root":
            out["root"] = {}
        if i["deleted"]:
            return {"id": i["id"], "deleted": {"state": "deleted"}, "parentReference": {"driveId": self.drive}}
        out |= {"folder": {"childCount": 0}} if i["folder"] else {"file": {"mimeType": "text/plain", "hashes": {}}}
        if sharing and since is not None and i["shared_seq"] > since:
            out["@microsoft.graph.sharedChanged"] = "True"
        return out

    def members(self, group_id: str, transitive: bool, seen: frozenset = frozenset()) -> list[dict]:
        """A group's members; entries named `gid-…` are nested groups (expanded by transitiveMembers)."""
        out: list[dict] = []
        for member in self.group_members.get(group_id, []):
            if member.startswith("gid-"):
                out.append({"@odata.type": "#microsoft.graph.group", "id": member, "displayName": member[4:]})
                if transitive and member not in seen:
                    out += self.members(member, True, seen | {group_id})
            else:
                out.append({"@odata.type": "#microsoft.graph.user", "id": f"oid-{member}", "mail": member,
                            "userPrincipalName": member})  # fmt: skip
        return out


def user(email: str, oid: str | None = None) -> dict:
    return {"id": f"p-{email}", "roles": ["read"], "grantedToV2": {"user": {"id": oid or f"oid-{email}", "displayName": email.split("@")[0],
                                                                          **({"email": email} if not oid else {})}}}  # fmt: skip


def group(name: str, roles: tuple[str, ...] = ("read",)) -> dict:
    return {
        "id": f"g-{name}",
        "roles": list(roles),
        "grantedToV2": {"group": {"id": f"gid-{name}", "displayName": name}},
    }


def org_link() -> dict:
    return {"id": "link-org", "roles": ["read"], "link": {"scope": "organization", "type": "view"}}
