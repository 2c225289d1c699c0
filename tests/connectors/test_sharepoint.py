"""The SharePoint/OneDrive connector against the Microsoft Graph test server (tests/connectors/test_servers):
the conformance suite through the delta change feed (permission case included), a folder's sharing change
reaching the files that inherit it, organization links, token expiry, and Graph's errors."""

from __future__ import annotations

import pytest

from citewise.connectors.base import PermissionsChanged
from citewise.connectors.graph import GraphConnector
from citewise.errors import ConfigError
from citewise.ingest.pipeline import Ingestor
from citewise.models import PUBLIC, Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from tests.connectors.conformance import START, ConnectorConformance
from tests.connectors.test_servers.graph_api import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT,
    GraphTestServer,
    group,
    org_link,
    user,
)


class Library:
    supports_acl = True
    change_feed = True

    def __init__(self) -> None:
        self.server = GraphTestServer()
        self.server.add("f-pol", "Policies", "root", folder=True, perms=[group("eng"), group("hr")])
        self.server.add("f-other", "Other", "root", folder=True, perms=[group("eng")])
        self.server.add("x-1", "outside.txt", "f-other", content=b"A file outside the configured folder.")
        for key, text in START.items():
            self.put(key, text)

    def connector(self, **extra) -> GraphConnector:
        options = {"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "drive_id": self.server.drive, "folder": "/Policies", "login_url": self.server.url,
                   "graph_url": f"{self.server.url}/v1.0"}  # fmt: skip
        return GraphConnector(**(options | extra))

    def _id(self, key: str) -> str:
        return f"i-{key}"

    def put(self, key: str, text: str) -> None:
        if self._id(key) in self.server.items:
            self.server.write(self._id(key), text.encode())
        else:
            self.server.add(self._id(key), key, "f-pol", content=text.encode())

    def remove(self, key: str) -> None:
        self.server.delete(self._id(key))

    def restrict(self, key: str, principals: list[str]) -> None:
        self.server.share(self._id(key), [group(p.removeprefix("group:")) for p in principals])


@pytest.fixture
def source():
    library = Library()
    yield library
    library.server.close()


class TestSharepointConformance(ConnectorConformance):
    pass


def test_a_folders_sharing_change_reaches_its_files_without_downloads(source, settings, encoder):
    eng, hr = Principal(user_id="ann@example.com", groups=["eng"]), Principal(user_id="hana@example.com", groups=["hr"])
    ing = Ingestor(settings, encoder=encoder)
    try:
        first = ing.sync(source.connector())
        assert first.added == 3  # outside.txt is not under /Policies
        retriever = Retriever(settings, store=ing.store, encoder=encoder)

        def titles(who):  # noqa: ANN001, ANN202
            return [
                h.title for h in retriever.run(RetrievalRequest(query="annual leave 27 days", principal=who, k=5)).hits
            ]

        assert "alpha.txt" in titles(eng)
        downloads = len([r for r in source.server.requests if r.startswith("/download/")])
        source.server.share("f-pol", [group("hr")])  # the folder: every file inherits it
        report = ing.sync(source.connector())
        assert report.permissions_updated == 3 and report.embedded == 0
        assert len([r for r in source.server.requests if r.startswith("/download/")]) == downloads  # nothing fetched
        assert "alpha.txt" not in titles(eng) and "alpha.txt" in titles(hr)
        source.server.share(source._id("alpha.txt"), [org_link(), user("ann@example.com")])
        ing.sync(source.connector())
        assert "alpha.txt" in titles(Principal(user_id="cy@example.com"))  # an organization-wide link
    finally:
        ing.close()


def test_tokens_are_refreshed_and_errors_say_why(source):
    source.server.token_lifetime = 61  # the connector renews 60 s early: every request needs a new token
    connector = source.connector()
    items = list(connector.load())
    assert len(items) == 3 and connector.next_cursor and "token=" in connector.next_cursor
    source.server.delete(source._id("gamma.txt"))
    source.server.share(source._id("beta.md"), [group("hr")])
    again = source.connector()
    again.set_cursor(connector.next_cursor)
    again.set_known_versions({i.uri: i.version for i in items})
    changes = list(again.load())
    assert sorted(type(c).__name__ for c in changes) == ["DeletedItem", "PermissionsChanged"]
    assert next(c for c in changes if isinstance(c, PermissionsChanged)).acl == ["group:hr"]
    with pytest.raises(ConfigError, match="invalid_client"):
        source.connector(client_secret="wrong").validate()
    with pytest.raises(ConfigError, match="no drive"):
        source.connector(drive_id="b!missing").validate()
    source.server.busy.append(f"/v1.0/drives/{source.server.drive}/root/delta")
    assert len(list(source.connector().load())) == 2  # gamma.txt was deleted above; the 429 was waited out
    assert PUBLIC not in items[0].acl


def test_entra_group_members_are_synced(source, settings, encoder):
    from citewise.db import init_db
    from citewise.identity import create_key, lookup

    source.server.group_members = {
        "gid-eng": ["ann@example.com", "gid-leads"],
        "gid-hr": [],
        "gid-leads": ["lee@example.com"],
    }
    db = init_db(settings.db_url)
    key = create_key(db, tenant="default", user_id="ann@example.com", groups=[])
    lee = create_key(db, tenant="default", user_id="lee@example.com", groups=[])
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(source.connector())
        assert lookup(db, key).groups == ["eng"] and lookup(db, lee).groups == ["eng"]  # nested groups expanded
        ing.sync(source.connector())  # an incremental sync that read no permissions keeps what it knew
        assert lookup(db, key).groups == ["eng"]
        source.server.group_members["gid-eng"] = ["gid-leads"]  # ann leaves the Entra group; no file changes
        report = ing.sync(source.connector())  # the known groups are found by name and listed again
        assert report.updated == report.permissions_updated == 0
        assert lookup(db, key).groups == [] and lookup(db, lee).groups == ["eng"]
        del source.server.group_members["gid-eng"]  # the group is deleted in Entra
        ing.sync(source.connector())
        assert lookup(db, lee).groups == []
    finally:
        ing.close()


def test_files_moved_out_of_and_into_the_folder_follow_on_the_next_delta(source, settings, encoder):
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(source.connector())
        eng = Principal(user_id="ann@example.com", groups=["eng"])
        retriever = Retriever(settings, store=ing.store, encoder=encoder)

        def titles() -> list[str]:
            return [h.title for h in retriever.run(RetrievalRequest(query="annual leave", principal=eng, k=10)).hits]

        assert "alpha.txt" in titles() and "outside.txt" not in titles()
        source.server.move("i-alpha.txt", "f-other")  # out of /Policies
        source.server.move("x-1", "f-pol")  # into it
        report = ing.sync(source.connector())  # incremental: only the two moves
        assert report.deleted == 1 and report.added == 1
        assert "alpha.txt" not in titles()
        hits = retriever.run(RetrievalRequest(query="file outside the configured folder", principal=eng, k=3)).hits
        assert hits[0].title == "outside.txt"
        source.server.move("i-alpha.txt", "f-pol")  # and back
        assert ing.sync(source.connector()).added == 1 and "alpha.txt" in titles()
    finally:
        ing.close()
