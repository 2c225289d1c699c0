"""A TEST SERVER, not Slack: the subset of the Slack Web API the connector uses, shaped as Slack's method
reference documents it, on a loopback port.

Methods (GET with query parameters, bearer token): `auth.test`, `conversations.list` (`types`,
`exclude_archived`), `conversations.history`, `conversations.replies`, `conversations.members`,
`users.list`; cursor pagination (`response_metadata.next_cursor`); errors as HTTP 200 with `ok: false`
(`invalid_auth`, `channel_not_found`); rate limits as 429 with Retry-After. Messages carry `ts`,
`thread_ts`, `reply_count`, `latest_reply` and `edited` as Slack sends them.
"""

from __future__ import annotations

import base64
import itertools
import re
from urllib.parse import parse_qs, urlsplit

from tests.connectors.test_servers.base import LoopbackServer, VendorHandler

TOKEN = "xoxb-test-1234-5678-abcdef"
_clock = itertools.count(1_764_500_000)


def next_ts() -> str:
    return f"{next(_clock)}.000100"


class SlackTestServer(LoopbackServer):
    def __init__(self) -> None:
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.busy: list[str] = []  # methods answered 429 (Retry-After: 1) once each
        self.file_bodies: dict[str, bytes] = {}
        self.calls: list[str] = []
        outer = self

        class Handler(VendorHandler):
            json_type = "application/json; charset=utf-8"

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if m := re.fullmatch(r"/files-pri/T0001-([^/]+)/download/(.+)", parts.path):
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        self.send_response(302)  # Slack sends the sign-in page instead of the file
                        self.send_header("Location", "/signin")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return None
                    data = outer.file_bodies.get(m.group(1))
                    if data is None:
                        return self._send(404, {"ok": False, "error": "file_not_found"})
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return None
                method = parts.path.removeprefix("/api/")
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                outer.calls.append(method)
                if method in outer.busy:
                    outer.busy.remove(method)
                    return self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(200, {"ok": False, "error": "invalid_auth"})
                handler = getattr(outer, "m_" + method.replace(".", "_"), None)
                if handler is None:
                    return self._send(200, {"ok": False, "error": "unknown_method"})
                return self._send(200, handler(params))

        self.serve(Handler)
        self.url += "/api"

    # -- methods --------------------------------------------------------------------------------------------

    @staticmethod
    def _page(items: list, params: dict, key: str) -> dict:
        limit = int(params.get("limit", 100))
        start = int(base64.b64decode(params["cursor"]).decode().split(":")[1]) if params.get("cursor") else 0
        nxt = base64.b64encode(f"next:{start + limit}".encode()).decode() if start + limit < len(items) else ""
        return {"ok": True, key: items[start : start + limit], "response_metadata": {"next_cursor": nxt}}

    def m_auth_test(self, params: dict) -> dict:
        return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "citewise", "team_id": "T0001",
                "user_id": "U0BOT", "bot_id": "B0BOT"}  # fmt: skip

    def m_conversations_list(self, params: dict) -> dict:
        types = params.get("types", "public_channel").split(",")
        shown = []
        for cid, c in self.channels.items():
            if ("private_channel" if c["is_private"] else "public_channel") not in types:
                continue
            if c.get("is_archived") and params.get("exclude_archived") == "true":
                continue
            shown.append({"id": cid, "name": c["name"], "is_channel": True, "is_group": False, "is_im": False,
                          "is_private": c["is_private"], "is_archived": c.get("is_archived", False),
                          "is_member": "U0BOT" in c["members"], "num_members": len(c["members"])})  # fmt: skip
        return self._page(shown, params, "channels")

    def _channel(self, params: dict) -> dict | None:
        c = self.channels.get(params.get("channel", ""))
        return c if c is not None and "U0BOT" in c["members"] else None

    def _message(self, m: dict) -> dict:
        out = {"type": "message", "user": m["user"], "text": m["text"], "ts": m["ts"]}
        if m.get("files"):
            out["files"] = m["files"]
        if m.get("edited"):
            out["edited"] = {"user": m["user"], "ts": m["edited"]}
        if m.get("replies"):
            out |= {"thread_ts": m["ts"], "reply_count": len(m["replies"]), "latest_reply": m["replies"][-1]["ts"],
                    "reply_users": sorted({r["user"] for r in m["replies"]})}  # fmt: skip
        return out

    def m_conversations_history(self, params: dict) -> dict:
        c = self._channel(params)
        if c is None:
            return {"ok": False, "error": "channel_not_found"}
        newest_first = sorted(c["messages"], key=lambda m: float(m["ts"]), reverse=True)
        page = self._page([self._message(m) for m in newest_first], params, "messages")
        page["has_more"] = bool(page["response_metadata"]["next_cursor"])
        return page

    def m_conversations_replies(self, params: dict) -> dict:
        c = self._channel(params)
        parent = next((m for m in c["messages"] if m["ts"] == params.get("ts")), None) if c else None
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = [{"type": "message", "user": r["user"], "text": r["text"], "ts": r["ts"], "thread_ts": parent["ts"],
                    "parent_user_id": parent["user"]} for r in parent.get("replies", [])]  # fmt: skip
        return self._page([self._message(parent), *replies], params, "messages")

    def m_conversations_members(self, params: dict) -> dict:
        c = self._channel(params)
        if c is None:
            return {"ok": False, "error": "channel_not_found"}
        return self._page(list(c["members"]), params, "members")

    def m_users_list(self, params: dict) -> dict:
        members = [{"id": uid, "team_id": "T0001", "name": u["name"], "deleted": u.get("deleted", False),
                    "is_bot": uid == "U0BOT", "profile": {"real_name": u["name"].title(), "email": u.get("email", "")}}
                   for uid, u in self.users.items()]  # fmt: skip
        return self._page(members, params, "members")

    # -- the data, as the tests change it ------------------------------------------------------------------

    def add_channel(self, cid: str, name: str, members: list[str], *, private: bool = False) -> None:
        self.channels[cid] = {"name": name, "is_private": private, "members": ["U0BOT", *members], "messages": []}

    def post(self, cid: str, user: str, text: str) -> str:
        ts = next_ts()
        self.channels[cid]["messages"].append({"ts": ts, "user": user, "text": text, "replies": []})
        return ts

    def reply(self, cid: str, ts: str, user: str, text: str) -> None:
        parent = next(m for m in self.channels[cid]["messages"] if m["ts"] == ts)
        parent["replies"].append({"ts": next_ts(), "user": user, "text": text})

    def share_file(self, cid: str, ts: str, name: str, data: bytes) -> None:
        """A file attached to a message, downloadable from its url_private_download with the bot token."""
        fid = f"F{len(self.file_bodies) + 1:04d}"
        self.file_bodies[fid] = data
        root = self.url.removesuffix("/api")
        file = {"id": fid, "name": name, "title": name, "mimetype": "text/plain", "filetype": "text", "size": len(data),
                "url_private": f"{root}/files-pri/T0001-{fid}/{name}",
                "url_private_download": f"{root}/files-pri/T0001-{fid}/download/{name}"}  # fmt: skip
        message = next(m for m in self.channels[cid]["messages"] if m["ts"] == ts)
        message.setdefault("files", []).append(file)

    def find(self, cid: str, pattern: str) -> dict:
        return next(m for m in self.channels[cid]["messages"] if re.search(pattern, m["text"]))
