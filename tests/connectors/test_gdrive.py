"""The Google Drive connector against the Drive test server (tests/connectors/test_servers): the conformance
suite through the Changes API (permission case included), Google Docs exported, domain and anyone-with-link
grants as configured, a real JWT-bearer sign-in, and Google's errors."""

from __future__ import annotations

import json

import pytest

from citewise.connectors.gdrive import DriveConnector
from citewise.errors import ConfigError
from citewise.models import PUBLIC
from tests.connectors.conformance import START, ConnectorConformance
from tests.connectors.test_servers.drive_api import GOOGLE_DOC, DriveTestServer, reader, service_account_key


class Drive:
    supports_acl = True
    change_feed = True

    def __init__(self) -> None:
        self.server = DriveTestServer()
        self.ids: dict[str, str] = {}
        for key, text in START.items():
            self.put(key, text)

    def connector(self, **extra) -> DriveConnector:
        options = {
            "service_account_json": json.dumps(self.server.key),
            "api_url": self.server.url,
            "admin_api_url": self.server.url,
            "domains": "example.com",
        }
        return DriveConnector(**(options | extra))

    def put(self, key: str, text: str) -> None:
        everyone = [reader("group", "eng@example.com"), reader("group", "hr@example.com")]
        self.ids[key] = self.server.put(key, text.encode(), permissions=None if key in self.ids else everyone)

    def remove(self, key: str) -> None:
        self.server.trash(self.ids[key])

    def restrict(self, key: str, principals: list[str]) -> None:
        self.server.share(
            self.ids[key], [reader("group", f"{p.removeprefix('group:')}@example.com") for p in principals]
        )


@pytest.fixture
def source():
    drive = Drive()
    yield drive
    drive.server.close()


class TestDriveConformance(ConnectorConformance):
    def test_a_permission_change_updates_payloads_without_embedding(self, source, settings, encoder):
        # Drive groups are e-mail addresses: the suite's group:hr is hr@example.com here
        source.restrict = lambda key, principals: source.server.share(  # type: ignore[method-assign]
            source.ids[key], [reader("group", "hr")]
        )
        super().test_a_permission_change_updates_payloads_without_embedding(source, settings, encoder)


def test_docs_are_exported_and_grants_follow_the_configuration(source):
    doc = source.server.put("Handbook", b"The handbook says: lunch is at noon.", mime=GOOGLE_DOC,
                            permissions=[reader("domain", "example.com")])  # fmt: skip
    link = source.server.put("Shared link", b"Anyone with the link can read this.", permissions=[reader("anyone", "")])
    items = {d.key: d for d in source.connector().load()}
    assert (
        items[doc].content == b"The handbook says: lunch is at noon." and items[doc].metadata["filename"] == "doc.txt"
    )
    assert items[doc].acl == [PUBLIC] and items[link].acl == ["user:nobody"]  # anyone-with-link only when configured
    assert {d.key: d for d in source.connector(anyone_with_link=True).load()}[link].acl == [PUBLIC]
    assert items[source.ids["alpha.txt"]].acl == ["group:eng@example.com", "group:hr@example.com"]


def test_sign_in_and_errors(source):
    connector = source.connector()
    connector.validate()
    other_key, _ = service_account_key(f"{source.server.url}/token")  # signed by a key the server does not know
    with pytest.raises(ConfigError, match="invalid_grant"):
        source.connector(service_account_json=json.dumps(other_key)).validate()
    with pytest.raises(ConfigError, match="not a service account key"):
        source.connector(service_account_json='{"type": "service_account"}')
    source.server.busy.append("/drive/v3/files")
    assert len(list(source.connector().load())) == 3  # a 403 userRateLimitExceeded waited out


def test_google_group_members_are_synced_through_the_directory_api(source, settings, encoder):
    from citewise.ingest.pipeline import Ingestor
    from citewise.retrieval.retriever import RetrievalRequest, Retriever
    from tests.connectors.conftest import linked_user

    server = source.server
    server.put("Payroll", b"The bonus run moves to March.", permissions=[reader("group", "finance@example.com")])
    server.groups = {
        "finance@example.com": [
            {"email": "Ann@example.com", "type": "USER"},
            {"email": "leads@example.com", "type": "GROUP"},
        ],
        "leads@example.com": [{"email": "lee@example.com", "type": "USER"}],  # nested: expanded by the API
        "eng@example.com": [{"email": "bob@example.com", "type": "USER"}],
    }
    options = {"sync_groups": True, "groups_subject": "admin@example.com"}
    source.connector(**options).validate()
    with pytest.raises(ConfigError, match="unauthorized_client"):  # not delegated to an admin
        source.connector(sync_groups=True, groups_subject="bob@example.com").validate()
    with pytest.raises(ConfigError, match="needs groups_subject"):
        source.connector(sync_groups=True)
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(source.connector(**options))
        retriever = Retriever(settings, store=ing.store, encoder=encoder)

        def titles(email: str) -> list[str]:
            who = linked_user(settings, email)
            return [h.title for h in retriever.run(RetrievalRequest(query="bonus run March", principal=who, k=5)).hits]

        assert "Payroll" in titles("ann@example.com") and "Payroll" in titles("lee@example.com")
        assert (
            "Payroll" not in titles("bob@example.com")
            and "eng@example.com" in linked_user(settings, "bob@example.com").groups
        )
        server.groups["leads@example.com"] = []  # lee leaves the nested group: no file changes
        report = ing.sync(source.connector(**options))  # an incremental sync (the Changes API): nothing changed
        assert report.added == report.updated == 0
        assert "Payroll" not in titles("lee@example.com") and "Payroll" in titles("ann@example.com")
        assert any("includeDerivedMembership=true" in r for r in server.requests)
    finally:
        ing.close()
