"""A TEST SERVER, not Jira: the subset of the Jira Cloud REST API v3 the connector uses, shaped as
Atlassian's reference documents it, on a loopback port.

Endpoints: `GET /rest/api/3/myself`, `/project/{key}`, `/project/{key}/permissionscheme`,
`/permissionscheme/{id}?expand=permissions`, `/issuesecurityschemes/level/member?levelId=`,
`/search/jql` (JQL `project in (...)`, `fields`, `maxResults`, `nextPageToken`/`isLast`),
`/issue/{key}/comment` (`startAt`/`maxResults`/`total`), `/group/member` (`groupname`, `isLast`), `/attachment/content/{id}` (the `content` URL of an attachment). Descriptions and comments in the Atlassian
Document Format. Basic auth with e-mail and API token (401 otherwise), 404 for unknown projects, 429 with
Retry-After on request.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from urllib.parse import parse_qs, urlsplit

from tests.connectors.test_servers.base import LoopbackServer, VendorHandler

EMAIL, TOKEN = "bot@example.com", "jira-token-7788"
_clock = itertools.count(1)


def updated() -> str:
    n = next(_clock)
    return f"2026-11-30T{10 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000+0000"


def adf(text: str) -> dict:
    return {"type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in text.split("\n") if line]}  # fmt: skip


class JiraTestServer(LoopbackServer):
    def __init__(self) -> None:
        self.projects: dict[str, dict] = {}  # key -> {scheme: id}
        self.schemes: dict[str, list[dict]] = {}  # scheme id -> grants [{permission, holder}]
        self.levels: dict[str, list[dict]] = {}  # level id -> holders
        self.issues: dict[str, dict] = {}
        self.group_members: dict[str, list[tuple[str, str]]] = {}  # group -> [(accountId, email)]
        self.busy: list[str] = []
        self.requests: list[str] = []
        outer = self

        class Handler(VendorHandler):
            json_type = "application/json;charset=UTF-8"

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                parts = urlsplit(self.path)
                path, q = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
                for prefix in list(outer.busy):
                    if path.startswith(prefix):
                        outer.busy.remove(prefix)
                        return self._send(429, {"errorMessages": ["Rate limit exceeded."]}, {"Retry-After": "1"})
                if (
                    self.headers.get("Authorization")
                    != "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
                ):
                    return self._send(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
                if path == "/rest/api/3/myself":
                    return self._send(
                        200, {"accountId": "557058:bot", "emailAddress": EMAIL, "displayName": "Bot", "active": True}
                    )
                if m := re.fullmatch(r"/rest/api/3/project/([A-Z0-9]+)(/permissionscheme)?", path):
                    project = outer.projects.get(m.group(1))
                    if project is None:
                        return self._send(
                            404, {"errorMessages": [f"No project could be found with key '{m.group(1)}'."]}
                        )
                    if m.group(2):
                        return self._send(200, {"id": int(project["scheme"]), "name": f"Scheme {project['scheme']}"})
                    return self._send(
                        200, {"id": str(10000 + len(m.group(1))), "key": m.group(1), "name": m.group(1).title()}
                    )
                if m := re.fullmatch(r"/rest/api/3/permissionscheme/(\d+)", path):
                    grants = [{"id": i, "holder": g["holder"], "permission": g["permission"]}
                              for i, g in enumerate(outer.schemes[m.group(1)])]  # fmt: skip
                    return self._send(200, {"id": int(m.group(1)), "name": "Scheme", "permissions": grants})
                if path == "/rest/api/3/issuesecurityschemes/level/member":
                    holders = outer.levels.get(q.get("levelId", ""), [])
                    values = [
                        {"id": str(i), "issueSecurityLevelId": q["levelId"], "holder": h} for i, h in enumerate(holders)
                    ]
                    return self._send(
                        200, {"maxResults": 50, "startAt": 0, "total": len(values), "isLast": True, "values": values}
                    )
                if m := re.fullmatch(r"/rest/api/3/attachment/content/(\d+)", path):
                    att = next(
                        (a for i in outer.issues.values() for a in i.get("attachments", []) if a["id"] == m.group(1)),
                        None,
                    )
                    if att is None:
                        return self._send(404, {"errorMessages": ["The attachment does not exist."]})
                    self.send_response(200)
                    self.send_header("Content-Type", att["mime"])
                    self.send_header("Content-Length", str(len(att["content"])))
                    self.end_headers()
                    self.wfile.write(att["content"])
                    return None
                if path == "/rest/api/3/group/member":
                    members = outer.group_members.get(q.get("groupname", ""))
                    if members is None:
                        return self._send(404, {"errorMessages": ["Specified group does not exist."]})
                    start, size = int(q.get("startAt", 0)), int(q.get("maxResults", 50))
                    values = [{"accountId": a, "emailAddress": e, "displayName": e.split("@")[0], "active": True}
                              for a, e in members[start : start + size]]  # fmt: skip
                    return self._send(200, {"self": "", "maxResults": size, "startAt": start, "total": len(members),
                                            "isLast": start + size >= len(members), "values": values})  # fmt: skip
                if path == "/rest/api/3/search/jql":
                    return self._search(q)
                if m := re.fullmatch(r"/rest/api/3/issue/([A-Z0-9]+-\d+)/comment", path):
                    issue = outer.issues.get(m.group(1))
                    if issue is None:
                        return self._send(
                            404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
                        )
                    start, size = int(q.get("startAt", 0)), int(q.get("maxResults", 50))
                    chunk = issue["comments"][start : start + size]
                    return self._send(
                        200, {"startAt": start, "maxResults": size, "total": len(issue["comments"]), "comments": chunk}
                    )
                return self._send(404, {"errorMessages": ["Not found"]})

            def _search(self, q: dict) -> None:
                wanted = re.search(r"project in \(([^)]*)\)", q.get("jql", ""))
                keys = set(json.loads(f"[{wanted.group(1)}]")) if wanted else set(outer.projects)
                found = sorted((i for i in outer.issues.values() if i["project"] in keys), key=lambda i: i["updated"])
                size = int(q.get("maxResults", 50))
                start = int(base64.b64decode(q["nextPageToken"]).decode()) if q.get("nextPageToken") else 0
                chunk = found[start : start + size]
                body = {
                    "issues": [outer.issue_object(i, q.get("fields", "")) for i in chunk],
                    "isLast": start + size >= len(found),
                }
                if not body["isLast"]:
                    body["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
                return self._send(200, body)

        self.serve(Handler)

    def issue_object(self, i: dict, fields: str) -> dict:
        wanted = set(fields.split(",")) if fields else set()
        everything = {
            "summary": i["summary"], "description": adf(i["description"]), "updated": i["updated"],
            "project": {"id": "10000", "key": i["project"], "name": i["project"].title()},
            "status": {"name": i.get("status", "To Do")}, "issuetype": {"name": "Task"},
            "security": {"id": i["security"], "name": f"Level {i['security']}"} if i.get("security") else None,
            "comment": {"comments": i["comments"][:2], "maxResults": 2, "total": len(i["comments"]), "startAt": 0},
            "reporter": {"accountId": "557058:ann", "displayName": "Ann"},
            "attachment": [{"id": a["id"], "filename": a["filename"], "mimeType": a["mime"], "size": len(a["content"]),
                            "created": "2026-11-30T12:00:00.000+0000",
                            "content": f"{self.url}/rest/api/3/attachment/content/{a['id']}"} for a in i.get("attachments", [])],
        }  # fmt: skip
        return {"id": str(10000 + int(i["key"].split("-")[1])), "key": i["key"], "self": f"{self.url}/rest/api/3/issue/{i['key']}",
                "fields": {k: v for k, v in everything.items() if k in wanted}}  # fmt: skip

    def add_project(self, key: str, browse: list[dict]) -> None:
        scheme = str(10_100 + len(self.schemes))
        self.schemes[scheme] = [{"permission": "BROWSE_PROJECTS", "holder": h} for h in browse]
        self.schemes[scheme].append(
            {"permission": "ADMINISTER_PROJECTS", "holder": {"type": "group", "parameter": "admins"}}
        )
        self.projects[key] = {"scheme": scheme}

    def put_issue(self, project: str, summary: str, description: str, security: str | None = None) -> str:
        found = next((i for i in self.issues.values() if i["summary"] == summary), None)
        if found:
            found.update(description=description, updated=updated())
            return found["key"]
        key = f"{project}-{len([i for i in self.issues.values() if i['project'] == project]) + 1}"
        self.issues[key] = {"key": key, "project": project, "summary": summary, "description": description,
                            "security": security, "comments": [], "updated": updated()}  # fmt: skip
        return key

    def attach(self, key: str, filename: str, content: bytes, mime: str = "text/plain") -> None:
        issue = self.issues[key]
        att_id = str(20000 + sum(len(i.get("attachments", [])) for i in self.issues.values()))
        issue.setdefault("attachments", []).append(
            {"id": att_id, "filename": filename, "content": content, "mime": mime}
        )
        issue["updated"] = updated()  # an upload bumps the issue's updated time, as in Jira

    def comment(self, key: str, who: str, text: str) -> None:
        issue = self.issues[key]
        issue["comments"].append({"id": str(len(issue["comments"]) + 1), "author": {"displayName": who},
                                  "body": adf(text), "created": "2026-11-30T12:00:00.000+0000"})  # fmt: skip
        issue["updated"] = updated()
