"""The Notion connector against the Notion test server (tests/connectors/test_servers): the conformance
suite, blocks rendered as Markdown with nesting, archived and unshared pages leaving the index, the
configured ACL, and Notion's errors."""

from __future__ import annotations

import pytest

from citewise.connectors.base import UnchangedItem
from citewise.connectors.notion import NotionConnector
from citewise.errors import ConfigError
from tests.connectors.conformance import START, ConnectorConformance
from tests.connectors.test_servers.notion_api import TOKEN, NotionTestServer, block


class Workspace:
    supports_acl = False  # Notion's API does not say who may read a page

    def __init__(self) -> None:
        self.server = NotionTestServer()
        for key, text in START.items():
            self.put(key, text)

    def connector(self, **extra) -> NotionConnector:
        return NotionConnector(**({"token": TOKEN, "base_url": self.server.url, "page_size": 2} | extra))

    def put(self, key: str, text: str) -> None:
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        self.server.put(key, [("paragraph", line) for line in lines])

    def remove(self, key: str) -> None:
        pid = next(pid for pid, p in self.server.pages.items() if p["title"] == key)
        self.server.pages[pid]["archived"] = True


@pytest.fixture
def source():
    workspace = Workspace()
    yield workspace
    workspace.server.close()


class TestNotionConformance(ConnectorConformance):
    pass


def test_blocks_render_as_markdown_and_unshared_pages_leave(source):
    nested = block("bulleted_list_item", "Travel", [block("bulleted_list_item", "Trains in second class")])
    source.server.put("Handbook", [
        ("heading_2", "Policies"), nested, block("to_do", "Read the handbook", checked=True),
        block("code", "make test", language="shell"), ("quote", "Ask people ops."),
    ])  # fmt: skip
    docs = {d.title: d for d in source.connector(acl=["group:staff"]).load()}
    text = docs["Handbook"].content.decode()
    assert "## Policies" in text and "- Travel" in text and "  - Trains in second class" in text
    assert "- [x] Read the handbook" in text and "```shell\nmake test\n```" in text and "> Ask people ops." in text
    assert docs["Handbook"].acl == ["group:staff"] and docs["Handbook"].uri.startswith(
        "https://www.notion.so/Handbook-"
    )
    pid = next(pid for pid, p in source.server.pages.items() if p["title"] == "Handbook")
    source.server.pages[pid]["shared"] = False
    assert "Handbook" not in {d.title for d in source.connector().load()}


def test_unchanged_pages_are_not_read_and_errors_say_why(source):
    connector = source.connector()
    first = list(connector.load())
    connector = source.connector()
    connector.set_known_versions({d.uri: d.version for d in first})
    before = len([r for r in source.server.requests if "/children" in r])
    assert all(isinstance(i, UnchangedItem) for i in connector.load())
    assert len([r for r in source.server.requests if "/children" in r]) == before
    source.server.busy.append("/v1/search")
    assert len(list(source.connector().load())) == 3  # a 429 waited out
    with pytest.raises(ConfigError, match="refused \\(401\\)"):
        source.connector(token="ntn_wrong").validate()
    source.connector().validate()


def test_uploaded_files_are_documents_of_their_own_fetched_without_the_secret(source, settings, encoder):
    from citewise.ingest.pipeline import Ingestor
    from citewise.models import Principal
    from citewise.retrieval.retriever import RetrievalRequest, Retriever

    server = source.server
    upload = server.file_block("travel-policy.txt", b"Trains are booked in second class for trips under four hours.")
    pdf = server.file_block("bad.pdf", b"not a pdf at all", kind="pdf")
    link = server.file_block("Vendor terms", url="https://vendor.example.com/terms.pdf")
    server.put("Travel", [("paragraph", "Travel rules live in the attached file."), upload, pdf, link])
    ing = Ingestor(settings, encoder=encoder)
    try:
        report = ing.sync(source.connector(acl=["group:staff"]))
        assert report.added == 5 and report.failed == 1  # 3 pages, the page, its text file; the fake PDF fails
        assert all("Authorization" not in h and "authorization" not in h for h in server.file_requests)
        assert len(server.file_requests) == 2  # the external link is not fetched
        retriever = Retriever(settings, store=ing.store, encoder=encoder)
        hits = retriever.run(
            RetrievalRequest(query="second class trains", principal=Principal(groups=["staff"]), k=3)
        ).hits
        assert hits[0].title == "travel-policy.txt (Travel)"
        assert retriever.run(RetrievalRequest(query="second class trains", principal=Principal(), k=3)).hits == []
        again = ing.sync(source.connector(acl=["group:staff"]))  # the page is unchanged: its files are listed
        assert again.deleted == 0 and again.added == again.updated == 0 and len(server.file_requests) == 2
        server.put("Travel", [("paragraph", "Travel rules changed: no file any more.")])
        third = ing.sync(source.connector(acl=["group:staff"]))
        assert third.deleted == 1 and third.updated == 1  # the removed upload leaves with the page's new version
        assert (
            retriever.run(RetrievalRequest(query="second class trains", principal=Principal(groups=["staff"]), k=3))
            .hits[0]
            .title
            != "travel-policy.txt (Travel)"
        )
    finally:
        ing.close()
