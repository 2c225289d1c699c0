"""The Confluence connector against the Confluence test server (tests/connectors/test_servers): the
conformance suite with its permission case, and the permission cases of the issue: a page restricted, a
restriction lifted (private made public again), a restriction inherited from a parent page, users mapped
to e-mails; pagination, 401, a missing space and 429 with Retry-After."""

from __future__ import annotations

import pytest

from citewise.connectors.confluence import ConfluenceConnector
from citewise.errors import ConfigError
from citewise.ingest.pipeline import Ingestor
from citewise.models import Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from tests.connectors.conformance import START, ConnectorConformance
from tests.connectors.conftest import linked_user
from tests.connectors.test_servers.confluence_api import EMAIL, TOKEN, ConfluenceTestServer


class Wiki:
    supports_acl = True

    def __init__(self) -> None:
        self.server = ConfluenceTestServer()
        self.server.users["557058:ann"] = {"email": "ann@example.com", "publicName": "Ann"}
        self.server.users["557058:hid"] = {"publicName": "Hidden"}  # e-mail hidden by the user's profile
        self.server.add_space("ENG", groups=["eng", "hr"])
        self.server.add_space("OTHER", groups=["eng"])
        for key, text in START.items():
            self.put(key, text)
        self.server.put_page("OTHER", "elsewhere", "<p>A space that is not configured.</p>")

    def connector(self, **extra) -> ConfluenceConnector:
        options = {"base_url": f"{self.server.url}/wiki", "spaces": "ENG", "email": EMAIL, "api_token": TOKEN,
                   "page_size": 2}  # fmt: skip
        return ConfluenceConnector(**(options | extra))

    def put(self, key: str, text: str, parent: str | None = None) -> str:
        html = "".join(f"<p>{line}</p>" for line in text.split("\n") if line and not line.startswith("#"))
        return self.server.put_page("ENG", key, html, parent)

    def remove(self, key: str) -> None:
        self.server.pages[self.server.page_id(key)]["status"] = "trashed"

    def restrict(self, key: str, principals: list[str]) -> None:
        page = self.server.pages[self.server.page_id(key)]
        page["groups"] = [p.removeprefix("group:") for p in principals if p.startswith("group:")]
        by_email = {u["email"]: a for a, u in self.server.users.items() if u.get("email")}
        page["users"] = [by_email[p.removeprefix("user:")] for p in principals if p.startswith("user:")]


@pytest.fixture
def source():
    wiki = Wiki()
    yield wiki
    wiki.server.close()


class TestConfluenceConformance(ConnectorConformance):
    pass


def _search(settings, ing: Ingestor, encoder, who: Principal, query: str) -> list[str]:
    retriever = Retriever(settings, store=ing.store, encoder=encoder)
    return [h.title for h in retriever.run(RetrievalRequest(query=query, principal=who, k=10)).hits]


def test_restrict_lift_and_inherit_follow_the_source_within_one_sync(source, settings, encoder):
    eng, hr = Principal(user_id="ann@example.com", groups=["eng"]), Principal(user_id="hana@example.com", groups=["hr"])
    hidden = linked_user(settings, "hidden@example.com", "user:confluence:557058:hid")
    parent = source.server.page_id("alpha.txt")
    source.put("child.md", "The child page repeats the leave policy: 27 days.", parent=parent)
    ing = Ingestor(settings, encoder=encoder)
    try:
        first = ing.sync(source.connector())
        assert first.added == 4 and "elsewhere" not in _search(settings, ing, encoder, eng, "space not configured")
        assert "alpha.txt" in _search(settings, ing, encoder, eng, "annual leave 27 days")
        source.server.pages[parent]["groups"] = ["hr"]  # restrict the parent: the child inherits it
        report = ing.sync(source.connector())
        assert report.permissions_updated == 2 and report.embedded == 0
        seen_by_eng = _search(settings, ing, encoder, eng, "annual leave 27 days")
        assert "alpha.txt" not in seen_by_eng and "child.md" not in seen_by_eng
        assert {"alpha.txt", "child.md"} <= set(_search(settings, ing, encoder, hr, "annual leave 27 days"))
        source.server.pages[parent]["groups"] = []
        source.server.pages[parent]["users"] = ["557058:hid"]  # a user whose e-mail Confluence hides
        ing.sync(source.connector())
        assert "alpha.txt" in _search(settings, ing, encoder, hidden, "annual leave 27 days")
        assert "alpha.txt" not in _search(settings, ing, encoder, hr, "annual leave 27 days")
        source.server.pages[parent]["users"] = []  # private made public again (the space's groups)
        ing.sync(source.connector())
        assert "alpha.txt" in _search(settings, ing, encoder, eng, "annual leave 27 days")
    finally:
        ing.close()


def test_pagination_rate_limits_and_errors(source):
    source.server.busy.append("/wiki/rest/api/content/search")
    docs = [d for d in source.connector().load()]
    assert sorted(d.title for d in docs) == ["alpha.txt", "beta.md", "gamma.txt"]
    searches = [r for r in source.server.requests if r.startswith("/wiki/rest/api/content/search")]
    assert len(searches) == 3 and any("cursor=" in r for r in searches)  # a 429, then two pages of two
    assert docs[0].metadata["link"].startswith(f"{source.server.url}/wiki/spaces/ENG/pages/")
    with pytest.raises(ConfigError, match="refused \\(401\\)"):
        source.connector(api_token="wrong").validate()
    with pytest.raises(ConfigError, match="no space 'NOPE'"):
        source.connector(spaces="ENG,NOPE").validate()
    with pytest.raises(ConfigError, match="email \\+ api_token"):
        ConfluenceConnector(base_url="http://x/wiki", spaces="ENG")


def test_a_user_removed_from_a_group_at_the_source_loses_its_pages(source, settings, encoder):
    """The key says nothing of groups: ann's groups come from Confluence, synced with the pages."""
    from citewise.db import init_db
    from citewise.identity import create_key, lookup

    server = source.server
    server.groups = {"hr": ["557058:ann"], "eng": []}
    server.pages[server.page_id("alpha.txt")]["groups"] = ["hr"]  # alpha: hr only
    db = init_db(settings.db_url)
    key = create_key(db, tenant="default", user_id="ann@example.com", groups=[])
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(source.connector())
        ann = lookup(db, key)
        assert ann.groups == ["hr"]
        assert "alpha.txt" in _search(settings, ing, encoder, ann, "annual leave 27 days")
        server.groups["hr"] = []  # ann leaves the group in Confluence
        report = ing.sync(source.connector())
        assert report.embedded == 0
        ann = lookup(db, key)
        assert ann.groups == [] and "alpha.txt" not in _search(settings, ing, encoder, ann, "annual leave 27 days")
    finally:
        ing.close()


def test_attachments_are_documents_with_their_pages_acl(source):
    server = source.server
    pid = server.page_id("beta.md")
    server.pages[pid]["groups"] = ["hr"]
    server.attach(pid, "rates.csv", b"city,rate\nBerlin,160\nLyon,120\n", "text/csv")
    docs = {d.title: d for d in source.connector().load()}
    rates = docs["rates.csv (beta.md)"]
    assert rates.acl == ["group:hr"] and rates.metadata["attached_to"] == docs["beta.md"].uri
    assert rates.content.startswith(b"city,rate") and rates.uri.endswith(f"/download/attachments/{pid}/rates.csv")
    again = source.connector()
    again.set_known_versions({d.uri: d.version for d in docs.values()})
    server.attach(pid, "rates.csv", b"city,rate\nBerlin,170\n", "text/csv")
    changed = [d for d in again.load() if hasattr(d, "content")]
    assert [d.title for d in changed] == ["rates.csv (beta.md)"]  # only the new attachment version is fetched
    assert len(list(source.connector(include_attachments=False).load())) == 3
