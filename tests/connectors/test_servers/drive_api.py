"""A TEST SERVER, not Google: Google's OAuth token endpoint for service accounts (RFC 7523 JWT bearer,
the signature checked with the account's public key) and the subset of the Drive API v3 the connector uses,
shaped as Google's reference documents it.

`POST /token`, `GET /drive/v3/about`, `/changes/startPageToken`, `/changes` (`pageToken`, `nextPageToken`,
`newStartPageToken`, `removed`), `/files` (`pageToken`), `/files/{id}?alt=media`, `/files/{id}/export`,
`/files/{id}/permissions`; and of the Admin SDK Directory API: `GET /admin/directory/v1/groups` and
`/groups/{groupKey}/members` (`pageToken`, `includeDerivedMembership` expanding nested groups), only with a
token for the member scope acting (`sub`) as one of `admins`. Errors as Google sends them (`{"error": {"code", "message", "status",
"errors": [{"reason"}]}}`): 401 UNAUTHENTICATED, 404 notFound, 403 userRateLimitExceeded on request.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.connectors.test_servers.base import LoopbackServer, VendorHandler

GOOGLE_DOC = "application/vnd.google-apps.document"


def service_account_key(token_uri: str) -> tuple[dict, object]:
    """A fresh service account key file's content, and the public key that checks its signatures."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = {"type": "service_account", "project_id": "citewise-test", "private_key_id": secrets.token_hex(8),
           "private_key": pem.decode(), "client_email": "indexer@citewise-test.iam.gserviceaccount.com",
           "client_id": "1234567890", "token_uri": token_uri}  # fmt: skip
    return key, private.public_key()


class DriveTestServer(LoopbackServer):
    def __init__(self) -> None:
        self.files: dict[str, dict] = {}
        self.changes: list[str] = []  # file ids in change order; a page token is an index into this log
        self.tokens: dict[str, tuple[float, str]] = {}  # token -> (expiry, scope)
        self.groups: dict[str, list[dict]] = {}  # group e-mail -> members ({"email", "type": USER|GROUP})
        self.admins = {"admin@example.com"}
        self.busy: list[str] = []
        self.requests: list[str] = []
        self._ids = itertools.count(1)
        self.serve(self._handler())
        self.key, self.public_key = service_account_key(f"{self.url}/token")

    def _handler(self):  # noqa: ANN202
        outer = self

        class Handler(VendorHandler):
            def _error(self, code: int, status: str, reason: str, message: str) -> None:
                self._send(code, {"error": {"code": code, "message": message, "status": status,
                                            "errors": [{"domain": "global", "reason": reason, "message": message}]}})  # fmt: skip

            def do_POST(self) -> None:  # noqa: N802
                form = {
                    k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()
                }
                try:
                    claims = jwt.decode(
                        form.get("assertion", ""), outer.public_key, algorithms=["RS256"], audience=f"{outer.url}/token"
                    )
                except jwt.PyJWTError:
                    return self._send(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
                scope = claims.get("scope", "")
                directory = "admin.directory" in scope
                if (
                    claims.get("iss") != outer.key["client_email"]
                    or not ("drive" in scope or directory)
                    or (directory and claims.get("sub") not in outer.admins)  # needs delegation to an admin
                ):
                    return self._send(
                        400, {"error": "unauthorized_client", "error_description": "Client is unauthorized."}
                    )
                token = "ya29." + secrets.token_urlsafe(16)
                outer.tokens[token] = (time.time() + 3599, scope)
                return self._send(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                parts = urlsplit(self.path)
                path, q = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
                expiry, scope = outer.tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "), (0, ""))
                if expiry < time.time():
                    return self._error(
                        401, "UNAUTHENTICATED", "authError", "Request had invalid authentication credentials."
                    )
                if ("admin.directory" in scope) != path.startswith("/admin/directory/"):
                    return self._error(403, "PERMISSION_DENIED", "insufficientPermissions",
                                       "Request had insufficient authentication scopes.")  # fmt: skip
                for prefix in list(outer.busy):
                    if path.startswith(prefix):
                        outer.busy.remove(prefix)
                        return self._error(
                            403, "PERMISSION_DENIED", "userRateLimitExceeded", "User rate limit exceeded."
                        )
                if path == "/admin/directory/v1/groups":
                    if not q.get("customer") and not q.get("domain"):
                        return self._error(400, "INVALID_ARGUMENT", "badRequest", "Bad Request")
                    listed = [{"kind": "admin#directory#group", "email": g} for g in sorted(outer.groups)]
                    return self._send(200, {"kind": "admin#directory#groups", "groups": listed})
                if m := re.fullmatch(r"/admin/directory/v1/groups/([^/]+)/members", path):
                    if m.group(1) not in outer.groups:
                        return self._error(404, "NOT_FOUND", "notFound", "Resource Not Found: groupKey")
                    members = outer.members(m.group(1), q.get("includeDerivedMembership") == "true")
                    start, size = int(q.get("pageToken", 0)), int(q.get("maxResults", 200))
                    body = {"kind": "admin#directory#members", "etag": '"e1"', "members": members[start : start + 2]}
                    if start + 2 < len(members):  # pages of two, whatever maxResults asks (up to 200)
                        body["nextPageToken"] = str(start + min(2, size))
                    return self._send(200, body)
                if path == "/drive/v3/about":
                    return self._send(200, {"user": {"kind": "drive#user", "emailAddress": outer.key["client_email"]}})
                if path == "/drive/v3/changes/startPageToken":
                    return self._send(200, {"kind": "drive#startPageToken", "startPageToken": str(len(outer.changes))})
                if path == "/drive/v3/changes":
                    start = int(q["pageToken"])
                    ids = outer.changes[start : start + 2]
                    body: dict = {"kind": "drive#changeList", "changes": [outer.change(f) for f in ids]}
                    if start + 2 < len(outer.changes):
                        body["nextPageToken"] = str(start + 2)
                    else:
                        body["newStartPageToken"] = str(len(outer.changes))
                    return self._send(200, body)
                if path == "/drive/v3/files":
                    live = [f for f in outer.files.values() if not f["trashed"] and not f["removed"]]
                    start = int(q.get("pageToken", 0))
                    body = {"kind": "drive#fileList", "files": [outer.meta(f) for f in live[start : start + 2]]}
                    if start + 2 < len(live):
                        body["nextPageToken"] = str(start + 2)
                    return self._send(200, body)
                if m := re.fullmatch(r"/drive/v3/files/([^/]+)(/export|/permissions)?", path):
                    f = outer.files.get(m.group(1))
                    if f is None or f["removed"]:
                        return self._error(404, "NOT_FOUND", "notFound", f"File not found: {m.group(1)}.")
                    if m.group(2) == "/permissions":
                        return self._send(200, {"kind": "drive#permissionList", "permissions": f["permissions"]})
                    if m.group(2) == "/export":
                        if f["mimeType"] != GOOGLE_DOC:
                            return self._error(
                                403,
                                "PERMISSION_DENIED",
                                "fileNotExportable",
                                "Export only supports Docs Editors files.",
                            )
                        return self._send(200, f["content"], kind=q.get("mimeType", "text/plain"))
                    if q.get("alt") == "media":
                        if f["mimeType"].startswith("application/vnd.google-apps"):
                            return self._error(
                                403, "PERMISSION_DENIED", "fileNotDownloadable", "Use Export with Docs Editors files."
                            )
                        return self._send(200, f["content"], kind=f["mimeType"])
                    return self._send(200, outer.meta(f))
                return self._error(404, "NOT_FOUND", "notFound", "Not found.")

        return Handler

    def members(self, group: str, derived: bool, seen: frozenset = frozenset()) -> list[dict]:
        out = []
        for member in self.groups.get(group, []):
            out.append({"kind": "admin#directory#member", "id": f"{abs(hash(member['email'])) % 10**9}",
                        "email": member["email"], "role": "MEMBER", "type": member["type"], "status": "ACTIVE"})  # fmt: skip
            if derived and member["type"] == "GROUP" and member["email"] not in seen:
                out += self.members(member["email"], True, seen | {group})
        return out

    def meta(self, f: dict) -> dict:
        out = {"kind": "drive#file", "id": f["id"], "name": f["name"], "mimeType": f["mimeType"], "trashed": f["trashed"],
               "modifiedTime": f["modifiedTime"], "version": str(f["version"]),
               "webViewLink": f"https://docs.google.com/document/d/{f['id']}/edit"}  # fmt: skip
        if not f["mimeType"].startswith("application/vnd.google-apps"):
            out |= {"md5Checksum": f["md5"], "size": str(len(f["content"]))}
        return out

    def change(self, file_id: str) -> dict:
        f = self.files[file_id]
        if f["removed"]:
            return {
                "kind": "drive#change",
                "changeType": "file",
                "fileId": file_id,
                "removed": True,
                "time": f["modifiedTime"],
            }
        return {"kind": "drive#change", "changeType": "file", "fileId": file_id, "removed": False, "file": self.meta(f),
                "time": f["modifiedTime"]}  # fmt: skip

    def _touch(self, f: dict, content: bool) -> None:
        import hashlib

        f["version"] += 1
        if content:
            n = next(self._ids)
            f["modifiedTime"] = f"2026-11-30T12:{n // 60 % 60:02d}:{n % 60:02d}.000Z"
            f["md5"] = hashlib.md5(f["content"]).hexdigest()  # noqa: S324 - Drive's md5Checksum
        self.changes.append(f["id"])

    def put(self, name: str, content: bytes, *, mime: str = "text/plain", permissions: list[dict] | None = None) -> str:
        found = next((f for f in self.files.values() if f["name"] == name and not f["removed"]), None)
        if found:
            found["content"] = content
            self._touch(found, content=True)
            return found["id"]
        fid = f"1a{next(self._ids):04d}XyZ"
        self.files[fid] = {"id": fid, "name": name, "mimeType": mime, "content": content, "trashed": False, "removed": False,
                           "version": 0, "modifiedTime": "", "md5": "", "permissions": permissions or []}  # fmt: skip
        self._touch(self.files[fid], content=True)
        return fid

    def share(self, fid: str, permissions: list[dict]) -> None:
        self.files[fid]["permissions"] = permissions
        self._touch(self.files[fid], content=False)

    def trash(self, fid: str) -> None:
        self.files[fid]["trashed"] = True
        self._touch(self.files[fid], content=False)


def reader(kind: str, who: str) -> dict:
    if kind == "domain":
        return {"kind": "drive#permission", "id": f"d-{who}", "type": "domain", "role": "reader", "domain": who}
    if kind == "anyone":
        return {"kind": "drive#permission", "id": "anyoneWithLink", "type": "anyone", "role": "reader"}
    return {"kind": "drive#permission", "id": f"p-{who}", "type": kind, "role": "reader", "emailAddress": who}
