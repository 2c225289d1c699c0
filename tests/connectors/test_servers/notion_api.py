"""A TEST SERVER, not Notion: the subset of the Notion API (version 2022-06-28) the connector uses, shaped
as Notion's reference documents it, on a loopback port.

Endpoints: `GET /v1/users/me`, `POST /v1/search` (filter `object: page`, `start_cursor`/`next_cursor`/
`has_more`), `GET /v1/blocks/{id}/children` (paginated, nested blocks through `has_children`). Errors as
Notion sends them (`{"object": "error", "status", "code", "message"}`): 401 `unauthorized`, 404
`object_not_found`, 429 `rate_limited` with Retry-After; a missing `Notion-Version` header is a 400.
Files uploaded to Notion (`file_block`) are served as S3 serves Notion's signed URLs: `GET /s3/...` with an
`X-Amz-Signature`, and an `Authorization` header is refused (400), as S3 refuses a second auth mechanism.
"""

from __future__ import annotations

import itertools
import json
import uuid
from urllib.parse import parse_qs, urlsplit

from tests.connectors.test_servers.base import LoopbackServer, VendorHandler

TOKEN = "ntn_test_4a5b6c7d8e9f"
_minutes = itertools.count(1)


def _edited() -> str:
    n = next(_minutes)
    return f"2026-11-30T{10 + n // 60:02d}:{n % 60:02d}:00.000Z"


class NotionTestServer(LoopbackServer):
    def __init__(self) -> None:
        self.pages: dict[str, dict] = {}  # id -> {title, blocks, archived, shared, last_edited_time}
        self.busy: list[str] = []
        self.files: dict[str, bytes] = {}  # signed path -> bytes
        self.file_requests: list[dict] = []  # the headers each file download came with
        self.requests: list[str] = []
        outer = self

        class Handler(VendorHandler):
            def _error(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
                self._send(status, {"object": "error", "status": status, "code": code, "message": message}, headers)

            def _gate(self) -> bool:
                outer.requests.append(self.path)
                path = urlsplit(self.path).path
                for prefix in list(outer.busy):
                    if path.startswith(prefix):
                        outer.busy.remove(prefix)
                        self._error(429, "rate_limited", "You have been rate limited.", {"Retry-After": "1"})
                        return False
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._error(401, "unauthorized", "API token is invalid.")
                    return False
                if not self.headers.get("Notion-Version"):
                    self._error(400, "missing_version", "Notion-Version header failed validation.")
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path.startswith("/s3/"):
                    return self._file(parts)
                if not self._gate():
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/v1/users/me":
                    return self._send(200, {"object": "user", "id": "bot-1", "type": "bot", "name": "Citewise",
                                            "bot": {"owner": {"type": "workspace", "workspace": True}}})  # fmt: skip
                if parts.path.startswith("/v1/blocks/") and parts.path.endswith("/children"):
                    block_id = parts.path.split("/")[3]
                    children = outer.children(block_id)
                    children = (
                        None
                        if children is None
                        else [{k: v for k, v in b.items() if k != "_children"} for b in children]
                    )
                    if children is None:
                        return self._error(404, "object_not_found", f"Could not find block with ID: {block_id}.")
                    return self._send(
                        200, outer.paginate(children, query.get("start_cursor"), int(query.get("page_size", 100)))
                    )
                return self._error(404, "object_not_found", "Not found.")

            def _file(self, parts) -> None:  # noqa: ANN001
                outer.file_requests.append(dict(self.headers))
                if self.headers.get("Authorization"):
                    return self._xml(400, "InvalidArgument", "Only one auth mechanism allowed")
                content = outer.files.get(parts.path)
                if content is None or f"X-Amz-Signature={outer.signature(parts.path)}" not in parts.query:
                    return self._xml(403, "AccessDenied", "Access Denied")
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _xml(self, status: int, code: str, message: str) -> None:
                data = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                if not self._gate():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if urlsplit(self.path).path != "/v1/search":
                    return self._error(404, "object_not_found", "Not found.")
                shared = [outer.page_object(pid) for pid, p in outer.pages.items() if p["shared"]]
                if (body.get("filter") or {}).get("value") == "page":
                    shared = [p for p in shared if p["object"] == "page"]
                result = outer.paginate(shared, body.get("start_cursor"), int(body.get("page_size", 100)))
                result |= {"type": "page_or_database", "page_or_database": {}}
                return self._send(200, result)

        self.serve(Handler)

    @staticmethod
    def signature(path: str) -> str:
        import hashlib

        return hashlib.sha256(f"notion-test|{path}".encode()).hexdigest()[:32]

    def file_block(self, name: str, content: bytes | None = None, *, kind: str = "file", url: str = "") -> dict:
        """A `file`/`pdf` block: uploaded to Notion (served here under a signed URL), or `external` (a link)."""
        edited = _edited()
        if content is None:
            value = {"caption": [], "type": "external", "external": {"url": url}, "name": name}
        else:
            path = f"/s3/secure.notion-static.com/{uuid.uuid4()}/{name}"
            self.files[path] = content
            signed = f"{self.url}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={self.signature(path)}"
            value = {"caption": [], "type": "file", "name": name,
                     "file": {"url": signed, "expiry_time": "2026-12-01T13:00:00.000Z"}}  # fmt: skip
        return {"object": "block", "id": str(uuid.uuid4()), "type": kind, "created_time": edited,
                "last_edited_time": edited, "has_children": False, kind: value}  # fmt: skip

    @staticmethod
    def paginate(items: list, cursor: str | None, size: int) -> dict:
        start = next((i for i, item in enumerate(items) if item["id"] == cursor), 0) if cursor else 0
        chunk, rest = items[start : start + size], items[start + size :]
        return {
            "object": "list",
            "results": chunk,
            "next_cursor": rest[0]["id"] if rest else None,
            "has_more": bool(rest),
        }

    def page_object(self, pid: str) -> dict:
        p = self.pages[pid]
        title = [{"type": "text", "text": {"content": p["title"], "link": None}, "plain_text": p["title"]}]
        return {"object": "page", "id": pid, "created_time": "2026-11-01T09:00:00.000Z",
                "last_edited_time": p["last_edited_time"], "archived": p["archived"], "in_trash": p["archived"],
                "parent": {"type": "workspace", "workspace": True},
                "url": f"https://www.notion.so/{p['title'].replace(' ', '-')}-{pid.replace('-', '')}",
                "properties": {"title": {"id": "title", "type": "title", "title": title}}}  # fmt: skip

    def children(self, block_id: str) -> list | None:
        if block_id in self.pages:
            page = self.pages[block_id]
            return None if not page["shared"] else page["blocks"]
        for page in self.pages.values():
            for block in _walk(page["blocks"]):
                if block["id"] == block_id:
                    return block.get("_children", [])
        return None

    def put(self, title: str, blocks: list[tuple[str, str]] | list[dict]) -> str:
        """Blocks as (type, text) pairs, or ready block dicts (for nesting)."""
        made = [b if isinstance(b, dict) else block(*b) for b in blocks]
        existing = next((pid for pid, p in self.pages.items() if p["title"] == title), None)
        pid = existing or str(uuid.uuid4())
        self.pages[pid] = {
            "title": title,
            "blocks": made,
            "archived": False,
            "shared": True,
            "last_edited_time": _edited(),
        }
        return pid


def block(kind: str, text: str, children: list[dict] | None = None, **extra) -> dict:
    rich = [{"type": "text", "text": {"content": text, "link": None}, "plain_text": text}]
    value = {"rich_text": rich, "color": "default", **extra}
    out = {"object": "block", "id": str(uuid.uuid4()), "type": kind, "has_children": bool(children), kind: value}
    if children:
        out["_children"] = children  # served by /v1/blocks/{id}/children, not inline (as in Notion)
    return out


def _walk(blocks: list[dict]):  # noqa: ANN202
    for b in blocks:
        yield b
        yield from _walk(b.get("_children", []))
