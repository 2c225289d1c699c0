"""A TEST SERVER, not GitHub: the subset of the GitHub REST API (2022-11-28) the connector uses, shaped as
GitHub's reference documents it, on a loopback port.

Endpoints: `GET /repos/{owner}/{repo}`, `/issues` (`state=all`, issues and pull requests together, a PR
carrying `pull_request`), `/issues/{n}/comments`, `/collaborators` (with `permissions`), `/teams`, `/orgs/{org}/teams/{slug}/members`.
Pagination by `Link: <...>; rel="next"` with `per_page`/`page`; 401 `Bad credentials`; 404 `Not Found`;
the primary rate limit as 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`.
"""

from __future__ import annotations

import itertools
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.connectors.test_servers.base import LoopbackServer, VendorHandler

TOKEN = "github_pat_test_11AAAA"
_clock = itertools.count(1)


def updated() -> str:
    n = next(_clock)
    return f"2026-11-30T{10 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"


class GithubTestServer(LoopbackServer):
    def __init__(self) -> None:
        self.repos: dict[str, dict] = {}  # full name -> {private, issues: {n: {...}}, collaborators, teams}
        self.team_members: dict[str, list[str]] = {}  # "org/slug" -> logins
        self.limited: list[str] = []  # path prefixes answered with the primary rate limit once each
        self.requests: list[str] = []
        outer = self

        class Handler(VendorHandler):
            json_type = "application/json; charset=utf-8"

            def _list(self, items: list, query: dict, path: str) -> None:
                per, page = int(query.get("per_page", 30)), int(query.get("page", 1))
                chunk = items[(page - 1) * per : page * per]
                headers = {}
                if page * per < len(items):
                    nxt = urlencode({**query, "page": page + 1})
                    headers["Link"] = f'<{outer.url}{path}?{nxt}>; rel="next", <{outer.url}{path}?page=1>; rel="first"'
                self._send(200, chunk, headers)

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                parts = urlsplit(self.path)
                path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
                for prefix in list(outer.limited):
                    if path.startswith(prefix):
                        outer.limited.remove(prefix)
                        reset = str(int(time.time()) + 1)
                        return self._send(403, {"message": "API rate limit exceeded for user ID 1.",
                                                "documentation_url": "https://docs.github.com/rest/rate-limit"},
                                          {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})  # fmt: skip
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(
                        401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
                    )
                if t := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/members", path):
                    members = outer.team_members.get(f"{t.group(1)}/{t.group(2)}")
                    if members is None:
                        return self._send(404, {"message": "Not Found"})
                    return self._list(
                        [{"login": m, "id": i, "type": "User"} for i, m in enumerate(members)], query, path
                    )
                m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
                repo = outer.repos.get(m.group(1)) if m else None
                if repo is None:
                    return self._send(
                        404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
                    )
                name, rest = m.group(1), m.group(2) or ""
                if rest == "":
                    return self._send(200, outer.repo_object(name))
                if rest == "/issues":
                    issues = sorted(repo["issues"].values(), key=lambda i: i["updated_at"])
                    return self._list([outer.issue_object(name, i) for i in issues], query, path)
                if c := re.fullmatch(r"/issues/(\d+)/comments", rest):
                    issue = repo["issues"].get(int(c.group(1)))
                    if issue is None:
                        return self._send(404, {"message": "Not Found"})
                    return self._list(issue["comments"], query, path)
                if rest == "/collaborators":
                    people = [{"login": login, "id": i, "type": "User", "permissions": {"pull": True, "push": p}}
                              for i, (login, p) in enumerate(repo["collaborators"].items())]  # fmt: skip
                    return self._list(people, query, path)
                if rest == "/teams":
                    return self._list(
                        [{"slug": t, "name": t.title(), "permission": "pull"} for t in repo["teams"]], query, path
                    )
                return self._send(404, {"message": "Not Found"})

        self.serve(Handler)

    def repo_object(self, name: str) -> dict:
        r = self.repos[name]
        return {"id": abs(hash(name)) % 10**8, "name": name.split("/")[1], "full_name": name, "private": r["private"],
                "visibility": "private" if r["private"] else "public", "html_url": f"https://github.com/{name}",
                "owner": {"login": name.split("/")[0], "type": "Organization"}}  # fmt: skip

    def issue_object(self, name: str, i: dict) -> dict:
        out = {"id": 1000 + i["number"], "number": i["number"], "title": i["title"], "body": i["body"],
               "state": i["state"],
               "user": {"login": i["author"], "type": "User"}, "comments": len(i["comments"]),
               "created_at": "2026-11-01T09:00:00Z", "updated_at": i["updated_at"],
               "html_url": f"https://github.com/{name}/{'pull' if i['pr'] else 'issues'}/{i['number']}",
               "comments_url": f"{self.url}/repos/{name}/issues/{i['number']}/comments"}  # fmt: skip
        if i["pr"]:
            out["pull_request"] = {"url": f"{self.url}/repos/{name}/pulls/{i['number']}", "merged_at": None}
        return out

    def add_repo(self, name: str, *, private: bool, collaborators: dict[str, bool] = (), teams: list[str] = ()) -> None:
        self.repos[name] = {
            "private": private,
            "issues": {},
            "collaborators": dict(collaborators),
            "teams": list(teams),
        }

    def put_issue(self, name: str, title: str, body: str, *, pr: bool = False, author: str = "ada") -> int:
        issues = self.repos[name]["issues"]
        found = next((i for i in issues.values() if i["title"] == title), None)
        if found:
            found.update(body=body, updated_at=updated())
            return found["number"]
        number = len(issues) + 1
        issues[number] = {"number": number, "title": title, "body": body, "state": "open", "author": author, "pr": pr,
                          "comments": [], "updated_at": updated()}  # fmt: skip
        return number

    def comment(self, name: str, number: int, login: str, body: str) -> None:
        issue = self.repos[name]["issues"][number]
        at = "2026-11-30T12:00:00Z"
        issue["comments"].append({"id": len(issue["comments"]) + 1, "user": {"login": login}, "body": body,
                                  "created_at": at, "updated_at": at})  # fmt: skip
        issue["updated_at"] = updated()  # a comment bumps the issue's updated_at, as on GitHub
