"""A TEST SERVER, not Confluence: the subset of the Confluence Cloud REST API (v1) the connector uses,
shaped as Atlassian's reference documents it, on a loopback port.

Endpoints: `GET /wiki/rest/api/space/{key}` (`expand=permissions`), `GET /wiki/rest/api/group/member`
(`name`, `start`/`limit`), `GET /wiki/rest/api/content/{id}/child/attachment`,
`GET /wiki/download/attachments/{page}/{name}`, `GET /wiki/rest/api/content/search`
(CQL `type=page AND space in (...)`, cursor pagination through `_links.next`, `expand`), and
`GET /wiki/rest/api/content/{id}` (`expand=body.storage,version,ancestors,restrictions...`). Basic auth with
an e-mail and API token (401 otherwise), 404 for unknown spaces and trashed pages, 429 with Retry-After on
request. Only the behaviour the connector relies on is implemented; the connector is written against
Atlassian's documentation, not against shortcuts of this server.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.connectors.test_servers.base import LoopbackServer, VendorHandler

EMAIL, TOKEN = "bot@example.com", "atl-token-5566"


class ConfluenceTestServer(LoopbackServer):
    def __init__(self) -> None:
        self.spaces: dict[str, dict] = {}
        self.pages: dict[str, dict] = {}
        self.users: dict[str, dict] = {}  # accountId -> {email, publicName}
        self.groups: dict[str, list[str]] = {}  # group name -> member account ids
        self.busy: list[str] = []  # path prefixes answered 429 (Retry-After: 1) once each
        self.requests: list[str] = []
        self._next_id = 65_600
        outer = self

        class Handler(VendorHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send(401, {"statusCode": 401, "message": "Client must be authenticated"})
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                for prefix in list(outer.busy):
                    if parts.path.startswith(prefix):
                        outer.busy.remove(prefix)
                        return self._send(429, {"statusCode": 429, "message": "Rate limited"}, {"Retry-After": "1"})
                if m := re.fullmatch(r"/wiki/rest/api/space/([^/]+)", parts.path):
                    return self._space(m.group(1), query)
                if parts.path == "/wiki/rest/api/content/search":
                    return self._search(query)
                if parts.path == "/wiki/rest/api/group/member":
                    members = [outer.user(a) for a in outer.groups.get(query.get("name", ""), [])]
                    start, limit = int(query.get("start", 0)), int(query.get("limit", 200))
                    chunk = members[start : start + limit]
                    links = {"base": f"{outer.url}/wiki", "context": "/wiki"}
                    if start + limit < len(members):
                        links["next"] = (
                            f"/rest/api/group/member?name={query['name']}&start={start + limit}&limit={limit}"
                        )
                    return self._send(
                        200, {"results": chunk, "start": start, "limit": limit, "size": len(chunk), "_links": links}
                    )
                if m := re.fullmatch(r"/wiki/rest/api/content/(\d+)/child/attachment", parts.path):
                    page = outer.pages.get(m.group(1))
                    if page is None or page["status"] != "current":
                        return self._send(404, {"statusCode": 404, "message": "No content found with id"})
                    results = [outer.attachment(page, a) for a in page["attachments"].values()]
                    return self._send(200, {"results": results, "start": 0, "limit": 100, "size": len(results),
                                            "_links": {"base": f"{outer.url}/wiki", "context": "/wiki"}})  # fmt: skip
                if m := re.fullmatch(r"/wiki/download/attachments/(\d+)/([^/]+)", parts.path):
                    page = outer.pages.get(m.group(1))
                    att = next(
                        (a for a in (page or {}).get("attachments", {}).values() if a["title"] == m.group(2)), None
                    )
                    if att is None:
                        return self._send(404, {"statusCode": 404, "message": "Attachment not found"})
                    self.send_response(200)
                    self.send_header("Content-Type", att["media"])
                    self.send_header("Content-Length", str(len(att["content"])))
                    self.end_headers()
                    self.wfile.write(att["content"])
                    return None
                if m := re.fullmatch(r"/wiki/rest/api/content/(\d+)", parts.path):
                    page = outer.pages.get(m.group(1))
                    if page is None or page["status"] != "current":
                        return self._send(404, {"statusCode": 404, "message": "No content found with id"})
                    return self._send(200, outer.content(page, query.get("expand", "")))
                return self._send(404, {"statusCode": 404, "message": "null"})

            def _space(self, key: str, query: dict) -> None:
                space = outer.spaces.get(key)
                if space is None:
                    return self._send(404, {"statusCode": 404, "message": f"No space with key : {key}"})
                links = {"webui": f"/spaces/{key}", "self": f"{outer.url}/wiki/rest/api/space/{key}"}
                body = {"id": space["id"], "key": key, "name": space["name"], "type": "global", "_links": links}
                if "permissions" in query.get("expand", ""):
                    groups = [{"type": "group", "name": g} for g in space["groups"]]
                    users = [outer.user(u) for u in space["users"]]
                    subjects = {
                        "group": {"results": groups, "size": len(groups)},
                        "user": {"results": users, "size": len(users)},
                    }
                    body["permissions"] = [
                        {"id": 1, "operation": {"operation": "read", "targetType": "space"}, "subjects": subjects,
                         "anonymousAccess": space.get("anonymous", False), "unlicensedAccess": False},
                        {"id": 2, "operation": {"operation": "create", "targetType": "page"},
                         "subjects": {"group": {"results": [{"type": "group", "name": "admins"}], "size": 1}}},
                    ]  # fmt: skip
                return self._send(200, body)

            def _search(self, query: dict) -> None:
                cql = query.get("cql", "")
                wanted = re.search(r"space in \(([^)]*)\)", cql)
                keys = set(json.loads(f"[{wanted.group(1)}]")) if wanted else set(outer.spaces)
                found = [p for p in outer.pages.values() if p["status"] == "current" and p["space"] in keys]
                found.sort(key=lambda p: int(p["id"]))
                limit, start = int(query.get("limit", 25)), int(base64.b64decode(query.get("cursor", "MA==")))
                chunk = found[start : start + limit]
                links = {"base": f"{outer.url}/wiki", "context": "/wiki"}
                if start + limit < len(found):
                    nxt = {k: v for k, v in query.items() if k != "cursor"}
                    nxt["cursor"] = base64.b64encode(str(start + limit).encode()).decode()
                    links["next"] = "/rest/api/content/search?" + urlencode(nxt)
                results = [outer.content(p, query.get("expand", "")) for p in chunk]
                return self._send(
                    200, {"results": results, "start": start, "limit": limit, "size": len(results), "_links": links}
                )

        self.serve(Handler)

    # -- the data, as the tests change it ------------------------------------------------------------------

    def user(self, account_id: str) -> dict:
        u = self.users[account_id]
        return {"type": "known", "accountId": account_id, "accountType": "atlassian", "email": u.get("email", ""),
                "publicName": u["publicName"], "displayName": u["publicName"]}  # fmt: skip

    def add_space(self, key: str, *, groups: list[str], users: list[str] = (), anonymous: bool = False) -> None:
        self.spaces[key] = {"id": len(self.spaces) + 1, "name": key.title(), "groups": list(groups),
                            "users": list(users), "anonymous": anonymous}  # fmt: skip

    def put_page(self, space: str, title: str, html: str, parent: str | None = None) -> str:
        existing = next((p for p in self.pages.values() if p["title"] == title and p["status"] == "current"), None)
        if existing:
            existing.update(body=html, version=existing["version"] + 1)
            return existing["id"]
        self._next_id += 1
        pid = str(self._next_id)
        self.pages[pid] = {"id": pid, "title": title, "space": space, "body": html, "version": 1, "status": "current",
                           "parent": parent, "users": [], "groups": [], "attachments": {}}  # fmt: skip
        return pid

    def attach(self, pid: str, title: str, content: bytes, media: str = "text/plain") -> None:
        atts = self.pages[pid]["attachments"]
        old = next((a for a in atts.values() if a["title"] == title), None)
        if old:
            old.update(content=content, version=old["version"] + 1)
            return
        self._next_id += 1
        atts[f"att{self._next_id}"] = {
            "id": f"att{self._next_id}",
            "title": title,
            "content": content,
            "media": media,
            "version": 1,
        }

    def attachment(self, page: dict, a: dict) -> dict:
        pid = page["id"]
        return {"id": a["id"], "type": "attachment", "status": "current", "title": a["title"],
                "metadata": {"mediaType": a["media"]}, "extensions": {"mediaType": a["media"], "fileSize": len(a["content"])},
                "version": {"number": a["version"], "when": "2026-11-30T10:00:00.000Z"},
                "_links": {"download": f"/download/attachments/{pid}/{a['title']}?version={a['version']}&api=v2",
                           "webui": f"/pages/viewpageattachments.action?pageId={pid}"}}  # fmt: skip

    def page_id(self, title: str) -> str:
        return next(p["id"] for p in self.pages.values() if p["title"] == title and p["status"] == "current")

    def content(self, page: dict, expand: str) -> dict:
        pid, key = page["id"], page["space"]
        body = {"id": pid, "type": "page", "status": page["status"], "title": page["title"],
                "_links": {"webui": f"/spaces/{key}/pages/{pid}/{page['title'].replace(' ', '+')}",
                           "self": f"{self.url}/wiki/rest/api/content/{pid}", "tinyui": f"/x/{pid}"}}  # fmt: skip
        if "space" in expand:
            body["space"] = {
                "id": self.spaces[key]["id"],
                "key": key,
                "name": self.spaces[key]["name"],
                "type": "global",
            }
        if "version" in expand:
            body["version"] = {"number": page["version"], "when": "2026-11-30T10:00:00.000Z", "minorEdit": False,
                               "by": {"type": "known", "accountId": "557058:bot", "publicName": "Bot"}}  # fmt: skip
        if "ancestors" in expand:
            chain, parent = [], page["parent"]
            while parent:
                chain.insert(
                    0, {"id": parent, "type": "page", "status": "current", "title": self.pages[parent]["title"]}
                )
                parent = self.pages[parent]["parent"]
            body["ancestors"] = chain
        if "restrictions.read" in expand:
            users = [self.user(u) for u in page["users"]]
            groups = [{"type": "group", "name": g, "id": f"g-{g}"} for g in page["groups"]]
            body["restrictions"] = {"read": {"operation": "read", "restrictions": {
                "user": {"results": users, "start": 0, "limit": 200, "size": len(users)},
                "group": {"results": groups, "start": 0, "limit": 200, "size": len(groups)}}}}  # fmt: skip
        if "body.storage" in expand:
            body["body"] = {"storage": {"value": page["body"], "representation": "storage"}}
        return body
