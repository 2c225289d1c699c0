"""The IMAP connector against a real Dovecot server: the conformance suite, attachments as documents of their
own, the owner as the ACL, read-only syncs, and validation (wrong password, wrong host, missing folder)."""

from __future__ import annotations

import imaplib
import time
import uuid
from email.message import EmailMessage

import pytest

from citewise.connectors.base import UnchangedItem
from citewise.connectors.imap import ImapConnector
from citewise.errors import ConfigError
from citewise.ingest.containers import ContainerLimits, expand
from tests.connectors.conformance import START, ConnectorConformance


class Mailbox:
    supports_acl = False
    replaces_on_change = True

    def __init__(self, server: dict, user: str = "ann@example.com") -> None:
        self.server, self.user, self.password = server, user, server["users"][user]
        self.folder = f"Test-{uuid.uuid4().hex[:8]}"
        with self._client() as client:
            client.create(self.folder)
        for key, text in START.items():
            self.put(key, text)

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.server["host"], self.server["port"], timeout=10)
        client.login(self.user, self.password)
        return client

    def connector(self, **extra) -> ImapConnector:
        options = {"host": self.server["host"], "port": self.server["port"], "ssl": False, "username": self.user,
                   "password": self.password, "folders": [self.folder]}  # fmt: skip
        return ImapConnector(**(options | extra))

    def append(self, message: EmailMessage) -> None:
        with self._client() as client:
            client.append(self.folder, "", imaplib.Time2Internaldate(time.time()), message.as_bytes())

    def put(self, key: str, text: str, attachment: tuple[str, bytes] | None = None) -> None:
        self.remove(key, missing_ok=True)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "hr@example.com", self.user, key
        message["Message-ID"] = f"<{uuid.uuid4().hex}@example.com>"
        message.set_content(text)
        if attachment:
            message.add_attachment(attachment[1], maintype="text", subtype="plain", filename=attachment[0])
        self.append(message)

    def remove(self, key: str, missing_ok: bool = False) -> None:
        with self._client() as client:
            client.select(self.folder)
            _, data = client.uid("SEARCH", None, "HEADER", "Subject", f'"{key}"')
            uids = (data[0] or b"").split()
            if not uids and not missing_ok:
                raise KeyError(key)
            for uid in uids:
                client.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
            client.expunge()


@pytest.fixture
def source(dovecot):
    return Mailbox(dovecot)


class TestImapConformance(ConnectorConformance):
    pass


def test_attachments_are_documents_linked_to_their_message_and_the_owner_reads_them(source):
    source.put("payslip", "Your payslip for March is attached.", ("payslip.txt", b"Net pay: 4,210 euros."))
    docs = {d.title: d for d in expand(source.connector().load(), ContainerLimits())}  # as the ingestor opens it
    message, attached = docs["payslip"], docs["payslip.txt (payslip)"]
    assert attached.metadata["attached_to"] == message.uri and attached.content == b"Net pay: 4,210 euros."
    assert message.acl == ["user:ann@example.com"] and attached.acl == ["user:ann@example.com"]
    with source._client() as client:  # the sync opened the folder read-only: nothing was marked as seen
        client.select(source.folder)
        assert client.uid("SEARCH", None, "SEEN")[1] == [b""]


def test_an_unchanged_message_keeps_its_attachments_on_the_next_sync(source, settings, encoder):
    from citewise.ingest.pipeline import Ingestor

    source.put("invoice", "The invoice is attached.", ("invoice.txt", b"Invoice 77: 1,200 euros, due in May."))
    ing = Ingestor(settings, encoder=encoder)
    try:
        first = ing.sync(source.connector())
        again = ing.sync(source.connector())  # the message is listed as unchanged, not fetched
        assert again.deleted == again.added == 0 and first.added == again.unchanged + 1  # + the attachment
        uris = {row.uri for row in ing.state.for_source(source.connector().source_id, "default").values()}
        assert any(u.endswith("!/1/invoice.txt") for u in uris)
    finally:
        ing.close()


def test_known_messages_are_listed_not_fetched(source):
    connector = source.connector()
    first = list(connector.load())
    connector.set_known_versions({d.uri: d.version for d in first})
    assert all(isinstance(item, UnchangedItem) for item in connector.load())


def test_validate_names_what_is_wrong(source, dovecot):
    source.connector().validate()
    with pytest.raises(ConfigError, match="wrong user or password") as caught:
        ImapConnector(
            host="127.0.0.1", port=dovecot["port"], ssl=False, username="ann@example.com", password="nope-x1"
        ).validate()
    assert "nope-x1" not in str(caught.value)
    with pytest.raises(ConfigError, match="cannot reach"):
        ImapConnector(
            host="127.0.0.1", port=9, ssl=False, username="ann@example.com", password="x", timeout_s=2
        ).validate()
    with pytest.raises(ConfigError, match="no folder 'Archive-missing'"):
        source.connector(folders=["Archive-missing"]).validate()
