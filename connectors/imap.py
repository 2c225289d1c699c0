"""An IMAP mailbox (imaplib): the messages of the configured folders, as .eml; the ingestor opens each
message's attachments into documents of their own, linked to it (ingest/containers.py), as for any .eml.

Incremental by UID: a message's URI holds its folder's UIDVALIDITY and its UID, and IMAP messages never
change, so a known URI is listed, not fetched. Messages expunged from the folder leave the index; a new
UIDVALIDITY (the server renumbered the folder) replaces the folder's documents. Who may read them: the
mailbox owner (`user:<username>`, or `owner`), unless the connector's `acl` says otherwise. The folder is
opened read-only: syncing never marks a message as seen.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
import ssl as ssllib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from pydantic import Field, SecretStr

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    parse_config,
)
from citewise.errors import ConfigError, TransientError
from citewise.models import RawDocument

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class ImapConfig(ConnectorConfig):
    host: str = Field(description="the IMAP server")
    port: int | None = Field(None, ge=1, le=65535, description="unset = 993 with ssl, 143 without")
    ssl: bool = Field(True, description="IMAP over TLS (port 993); false = plain IMAP (use on loopback only)")
    username: str
    password: SecretStr
    folders: TextList = Field(default_factory=lambda: ["INBOX"], description="folders to index")
    owner: str | None = Field(None, description="the principal the mail belongs to; unset = user:<username>")
    max_bytes: int = Field(25_000_000, ge=1, description="larger messages are reported, not fetched")
    timeout_s: float = Field(30.0, gt=0)


class ImapConnector(LoadConnector, ListIdsConnector, VersionedConnector):
    kind = "imap"
    Config = ImapConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: ImapConfig = parse_config(ImapConfig, config, self.kind)

    @property
    def source_id(self) -> str:
        return f"imap:{self.cfg.username}@{self.cfg.host}:{self._port}"

    @property
    def _port(self) -> int:
        return self.cfg.port or (993 if self.cfg.ssl else 143)

    @property
    def _acl(self) -> list[str]:
        return self.acl or [self.cfg.owner or f"user:{self.cfg.username}"]

    def _connect(self) -> imaplib.IMAP4:
        cfg = self.cfg
        try:
            if cfg.ssl:
                client = imaplib.IMAP4_SSL(
                    cfg.host, self._port, ssl_context=ssllib.create_default_context(), timeout=cfg.timeout_s
                )
            else:
                client = imaplib.IMAP4(cfg.host, self._port, timeout=cfg.timeout_s)
        except (TimeoutError, OSError, imaplib.IMAP4.error) as exc:  # may pass: a sync retries it
            raise TransientError(f"imap: cannot reach {cfg.host}:{self._port}: {exc}") from None
        try:
            client.login(cfg.username, cfg.password.get_secret_value())
        except imaplib.IMAP4.error:
            client.shutdown()
            raise ConfigError(f"imap: wrong user or password for {cfg.username!r}") from None
        return client

    def _select(self, client: imaplib.IMAP4, folder: str) -> int:
        status, data = client.select(_quoted(folder), readonly=True)
        if status != "OK":
            raise ConfigError(f"imap: no folder {folder!r} in the mailbox")
        status, data = client.response("UIDVALIDITY")
        if data and data[0]:
            return int(data[0])
        status, data = client.status(_quoted(folder), "(UIDVALIDITY)")
        found = _UIDVALIDITY.search(data[0] or b"")
        return int(found.group(1)) if found else 0

    def validate(self) -> None:
        try:
            client = self._connect()
        except TransientError as exc:  # when adding the connector, an unreachable server is a config error
            raise ConfigError(str(exc)) from None
        try:
            for folder in self.cfg.folders:
                self._select(client, folder)
        finally:
            client.logout()

    def _uri(self, folder: str, validity: int, uid: int) -> str:
        return f"imap://{quote(self.cfg.username)}@{self.cfg.host}/{quote(folder)};UIDVALIDITY={validity}/;UID={uid}"

    def _messages(self, client: imaplib.IMAP4) -> Iterator[tuple[str, int, int, int]]:
        """(folder, uidvalidity, uid, size) of every message in the configured folders."""
        for folder in self.cfg.folders:
            validity = self._select(client, folder)
            status, data = client.uid("SEARCH", None, "ALL")
            uids = [int(u) for u in (data[0] or b"").split()] if status == "OK" else []
            for i in range(0, len(uids), 500):
                chunk = ",".join(str(u) for u in uids[i : i + 500])
                status, sizes = client.uid("FETCH", chunk, "(RFC822.SIZE)")
                for line in sizes or []:
                    raw = line if isinstance(line, bytes) else line[0]
                    uid = re.search(rb"UID (\d+)", raw)
                    size = re.search(rb"RFC822\.SIZE (\d+)", raw)
                    if uid:
                        yield folder, validity, int(uid.group(1)), int(size.group(1)) if size else 0

    def list_ids(self) -> Iterator[str]:
        client = self._connect()
        try:
            for folder, validity, uid, _ in list(self._messages(client)):
                yield self._uri(folder, validity, uid)
        finally:
            client.logout()

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        client = self._connect()
        try:
            for folder, validity, uid, size in list(self._messages(client)):
                uri = self._uri(folder, validity, uid)
                version = f"{validity}:{uid}:{self._acl}"
                if self.unchanged(uri, version):
                    yield UnchangedItem(key=uri, uri=uri)
                    continue
                if size > self.cfg.max_bytes:
                    yield FailedItem(key=uri, uri=uri, error=f"the message is {size:,} bytes, over max_bytes")
                    continue
                client.select(_quoted(folder), readonly=True)
                status, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")  # PEEK: not marked as seen
                raw = next((part[1] for part in data or [] if isinstance(part, tuple)), None)
                if status != "OK" or raw is None:
                    yield FailedItem(key=uri, uri=uri, error=f"imap: the server did not return message {uid}")
                    continue
                yield from self._documents(raw, uri, folder, version)
        finally:
            client.logout()

    def _documents(self, raw: bytes, uri: str, folder: str, version: str) -> Iterator[RawDocument]:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        subject = str(message.get("Subject", "")).strip() or "(no subject)"
        meta = {"folder": folder, "from": str(message.get("From", "")), "date": str(message.get("Date", "")),
                "message_id": str(message.get("Message-ID", ""))}  # fmt: skip
        yield RawDocument(
            source_id=self.source_id, key=uri, uri=uri, title=subject, content=raw, version=version, acl=self._acl,
            metadata={**meta, "filename": "message.eml", "size_bytes": len(raw)},
        )  # fmt: skip


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
