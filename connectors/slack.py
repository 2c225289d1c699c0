"""Slack: the threads of the configured channels (a thread is a document: its first message and replies),
with channel membership as the ACL, through the Web API (`conversations.*`, `users.list`), as a bot token.

- Public channels are readable by the whole tenant (or by their members with `public_acl: members`);
  private channels only with `include_private`, readable by their members. A member removed from a channel
  loses every thread of it on the next sync, as a payload-only change (nothing is embedded).
- Members map to `user:<email>` (the `users:read.email` scope), else `user:slack:<id>`.
- A thread's version is its latest reply and edit time plus its ACL: unchanged threads are listed from
  `conversations.history`, their replies not fetched. Deleted messages leave the index.
- Slack answers errors as HTTP 200 with `ok: false` (`invalid_auth`, `missing_scope`, `channel_not_found`)
  and rate limits as 429 with Retry-After; both are handled as Slack documents them.
Files shared in a thread are documents of their own with the channel's ACL (`include_files`).
Scopes: `channels:read`, `channels:history`, `users:read`, `users:read.email`, `files:read`, and with `include_private`,
`groups:read`, `groups:history`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, SecretStr

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.connectors.http import VendorHTTP
from citewise.errors import CitewiseError, ConfigError
from citewise.models import PUBLIC, RawDocument

_REASONS = {
    "invalid_auth": "the token was refused (invalid_auth)",
    "not_authed": "no token was sent (not_authed)",
    "token_revoked": "the token was revoked",
    "account_inactive": "the bot's account is inactive",
    "missing_scope": "the token lacks a scope",
    "channel_not_found": "no such channel, or the bot is not in it",
}


class SlackConfig(ConnectorConfig):
    token: SecretStr = Field(description="a bot token (xoxb-...)")
    channels: TextList = Field(default_factory=list, description="channel names; empty = every channel the bot is in")
    include_private: bool = Field(False, description="also private channels the bot was invited to")
    public_acl: Literal["tenant", "members"] = Field("tenant", description="who may read public channels")
    base_url: str = Field("https://slack.com/api", description="the Web API (a test server in the tests)")
    include_files: bool = Field(True, description="index files shared in threads (scope files:read)")
    max_file_bytes: int = Field(50_000_000, ge=1)
    page_size: int = Field(200, ge=1, le=1000)
    timeout_s: float = Field(30.0, gt=0)


class SlackConnector(LoadConnector, ListIdsConnector, VersionedConnector):
    kind = "slack"
    Config = SlackConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: SlackConfig = parse_config(SlackConfig, config, self.kind)
        self._http: VendorHTTP | None = None
        self._emails: dict[str, str] | None = None

    @property
    def source_id(self) -> str:
        return f"slack:{self.cfg.base_url}"

    @property
    def http(self) -> VendorHTTP:
        if self._http is None:
            bearer = {"Authorization": f"Bearer {self.cfg.token.get_secret_value()}"}
            self._http = VendorHTTP(self.cfg.base_url, name="slack", headers=bearer, timeout_s=self.cfg.timeout_s)
        return self._http

    def _call(self, method: str, **params: Any) -> dict:
        data = self.http.get(f"/{method}", **params) or {}
        if not data.get("ok"):
            error = data.get("error", "unknown_error")
            detail = f" (needs {data['needed']})" if data.get("needed") else ""
            raise ConfigError(f"slack {method}: {_REASONS.get(error, error)}{detail}")
        return data

    def _pages(self, method: str, key: str, **params: Any) -> Iterator[dict]:
        cursor = None
        while True:
            data = self._call(method, limit=self.cfg.page_size, cursor=cursor, **params)
            yield from data.get(key, [])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def validate(self) -> None:
        self._call("auth.test")
        names = {c["name"] for c in self._channels()}
        if missing := [c for c in self.cfg.channels if c not in names]:
            raise ConfigError(f"slack: no channel {', '.join(missing)} that the bot is a member of")

    def _channels(self) -> list[dict]:
        types = "public_channel,private_channel" if self.cfg.include_private else "public_channel"
        found = [c for c in self._pages("conversations.list", "channels", types=types, exclude_archived="true")]
        found = [c for c in found if c.get("is_member") and (not c.get("is_private") or self.cfg.include_private)]
        return [c for c in found if not self.cfg.channels or c["name"] in self.cfg.channels]

    def _user(self, uid: str) -> str:
        if self._emails is None:
            self._emails = {
                u["id"]: u.get("profile", {}).get("email", "")
                for u in self._pages("users.list", "members")
                if not u.get("deleted")
            }
        email = self._emails.get(uid)
        return f"user:{email}" if email else f"user:slack:{uid}"

    def _acl(self, channel: dict) -> list[str]:
        if self.acl:
            return list(self.acl)
        if not channel.get("is_private") and self.cfg.public_acl == "tenant":
            return [PUBLIC]
        members = [self._user(m) for m in self._pages("conversations.members", "members", channel=channel["id"])]
        return sorted(set(members)) or ["user:nobody"]

    def _uri(self, channel: dict, ts: str) -> str:
        return f"{self.source_id}/archives/{channel['id']}/p{ts.replace('.', '')}"

    def list_ids(self) -> Iterator[str]:
        for channel in self._channels():
            for message in self._pages("conversations.history", "messages", channel=channel["id"]):
                if not message.get("thread_ts") or message.get("thread_ts") == message.get("ts"):
                    yield self._uri(channel, message["ts"])

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        try:
            for channel in self._channels():
                acl = self._acl(channel)
                tag = acl_tag(acl)
                for message in self._pages("conversations.history", "messages", channel=channel["id"]):
                    if message.get("subtype") in ("channel_join", "channel_leave") or (
                        message.get("thread_ts") and message["thread_ts"] != message["ts"]
                    ):
                        continue  # joins and leaves are not knowledge; replies come with their thread
                    ts = message["ts"]
                    uri = self._uri(channel, ts)
                    version = f"{message.get('latest_reply', ts)}|{(message.get('edited') or {}).get('ts', '')}|{tag}"
                    if self.unchanged(uri, version):
                        yield UnchangedItem(key=uri, uri=uri)
                        files = [k for k in getattr(self, "known_versions", {}) if k.startswith(f"{uri}/files/")]
                        yield from (UnchangedItem(key=k, uri=k) for k in files)  # an unchanged thread's files
                        continue
                    thread = [message]
                    if message.get("reply_count"):
                        thread = list(self._pages("conversations.replies", "messages", channel=channel["id"], ts=ts))
                    lines = [f"{self._name(m)}: {m.get('text', '')}" for m in thread if m.get("text")]
                    if not lines:
                        continue
                    first = thread[0].get("text", "").strip().splitlines()[0] if thread[0].get("text") else ts
                    yield RawDocument(
                        source_id=self.source_id, key=uri, uri=uri, title=f"#{channel['name']}: {first[:80]}",
                        text="\n\n".join(lines), version=version, acl=acl,
                        modified_at=datetime.fromtimestamp(float(message.get("latest_reply", ts)), UTC),
                        metadata={"channel": channel["name"], "ts": ts, "replies": len(thread) - 1},
                    )  # fmt: skip
                    if self.cfg.include_files:
                        yield from self._files(thread, uri, acl, tag, channel["name"])
        finally:
            self.close()

    def _files(
        self, thread: list[dict], thread_uri: str, acl: list[str], tag: str, channel: str
    ) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        """Files shared in the thread, as documents of their own with the channel's ACL, linked to the thread
        (`url_private_download`, with the bot token; scope `files:read`)."""
        for message in thread:
            for file in message.get("files") or []:
                uri = f"{thread_uri}/files/{file['id']}"
                version = f"{file['id']}|{tag}"
                if self.unchanged(uri, version):
                    yield UnchangedItem(key=uri, uri=uri)
                    continue
                if file.get("size", 0) > self.cfg.max_file_bytes or not file.get("url_private_download"):
                    yield FailedItem(key=uri, uri=uri, error="the file is over max_file_bytes, or not downloadable")
                    continue
                try:
                    content = self.http.download(file["url_private_download"], self.cfg.max_file_bytes)
                except CitewiseError as exc:
                    yield FailedItem(key=uri, uri=uri, error=str(exc))
                    continue
                name = file.get("name") or file["id"]
                yield RawDocument(
                    source_id=self.source_id, key=uri, uri=uri, title=f"{name} (#{channel})", content=content,
                    version=version, acl=acl, mime_type=file.get("mimetype"),
                    metadata={"filename": name, "attached_to": thread_uri, "channel": channel,
                              "size_bytes": len(content)},
                )  # fmt: skip

    def _name(self, message: dict) -> str:
        uid = message.get("user")
        return self._user(uid).removeprefix("user:") if uid else message.get("username", "bot")

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
