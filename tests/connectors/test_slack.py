"""The Slack connector against the Slack test server (tests/connectors/test_servers): the conformance
suite, threads as documents, channel membership as the ACL (a member removed loses the channel within one
sync, payload-only), private channels only when configured, a channel made public, and Slack's errors."""

from __future__ import annotations

import pytest

from citewise.connectors.slack import SlackConnector
from citewise.errors import ConfigError
from citewise.ingest.pipeline import Ingestor
from citewise.models import Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from tests.connectors.conformance import START, ConnectorConformance
from tests.connectors.test_servers.slack_api import TOKEN, SlackTestServer, next_ts


class Workspace:
    supports_acl = False  # permissions are the channel's; tested below

    def __init__(self) -> None:
        self.server = SlackTestServer()
        self.server.users.update({"U0BOT": {"name": "citewise"}, "U1ANN": {"name": "ann", "email": "ann@example.com"},
                                  "U2HANA": {"name": "hana", "email": "hana@example.com"}})  # fmt: skip
        self.server.add_channel("C01HB", "handbook", ["U1ANN", "U2HANA"])
        for key, text in START.items():
            self.put(key, text)

    def connector(self, **extra) -> SlackConnector:
        options = {"token": TOKEN, "base_url": self.server.url, "page_size": 2}
        return SlackConnector(**(options | extra))

    def put(self, key: str, text: str) -> None:
        body = f"{key}: {' '.join(line for line in text.splitlines() if not line.startswith('#'))}"
        try:
            message = self.server.find("C01HB", f"^{key}:")
            message.update(text=body, edited=next_ts())
        except StopIteration:
            self.server.post("C01HB", "U1ANN", body)

    def remove(self, key: str) -> None:
        messages = self.server.channels["C01HB"]["messages"]
        messages.remove(self.server.find("C01HB", f"^{key}:"))


@pytest.fixture
def source():
    workspace = Workspace()
    yield workspace
    workspace.server.close()


class TestSlackConformance(ConnectorConformance):
    pass


def _titles(settings, ing, encoder, who: Principal, query: str) -> list[str]:
    retriever = Retriever(settings, store=ing.store, encoder=encoder)
    return [h.title for h in retriever.run(RetrievalRequest(query=query, principal=who, k=10)).hits]


def test_channel_membership_is_the_acl_and_follows_the_source(source, settings, encoder):
    server = source.server
    server.add_channel("G02PAY", "payroll", ["U2HANA"], private=True)
    ts = server.post("G02PAY", "U2HANA", "Payroll runs on the 25th; corrections go to payroll@example.com.")
    server.reply("G02PAY", ts, "U2HANA", "Bonus payments are made in March.")
    ann, hana = Principal(user_id="ann@example.com"), Principal(user_id="hana@example.com")
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(source.connector())
        assert not any("payroll" in t for t in _titles(settings, ing, encoder, hana, "when does payroll run"))
        ing.sync(source.connector(include_private=True))  # private channels only when configured
        found = _titles(settings, ing, encoder, hana, "when does payroll run bonus")
        assert found[0].startswith("#payroll: Payroll runs on the 25th")
        assert not any(t.startswith("#payroll") for t in _titles(settings, ing, encoder, ann, "payroll bonus"))
        server.channels["G02PAY"]["members"].append("U1ANN")
        report = ing.sync(source.connector(include_private=True))
        assert report.permissions_updated == 1 and report.embedded == 0
        assert _titles(settings, ing, encoder, ann, "payroll bonus")[0].startswith("#payroll")
        server.channels["G02PAY"]["members"].remove("U1ANN")  # ann leaves the channel
        ing.sync(source.connector(include_private=True))
        assert not any(t.startswith("#payroll") for t in _titles(settings, ing, encoder, ann, "payroll bonus"))
        server.channels["G02PAY"]["is_private"] = False  # the channel is made public: the tenant reads it
        ing.sync(source.connector(include_private=True))
        assert _titles(settings, ing, encoder, Principal(user_id="cy@example.com"), "payroll bonus")[0].startswith(
            "#payroll"
        )
        thread = next(d for d in source.connector(include_private=True).load() if "Payroll" in d.text)
        assert "Bonus payments are made in March" in thread.text and thread.metadata["replies"] == 1
    finally:
        ing.close()


def test_slack_errors_and_rate_limits(source):
    source.server.busy.append("conversations.history")
    assert len([d for d in source.connector().load()]) == 3  # the 429 was waited out
    assert source.server.calls.count("conversations.history") >= 3
    with pytest.raises(ConfigError, match="invalid_auth"):
        source.connector(token="xoxb-wrong").validate()
    with pytest.raises(ConfigError, match="no channel random"):
        source.connector(channels="handbook,random").validate()
    source.connector(channels="handbook").validate()


def test_files_shared_in_threads_are_documents_with_the_channels_acl(source, settings, encoder):
    server = source.server
    message = server.find("C01HB", "^beta.md:")
    server.share_file("C01HB", message["ts"], "rates.txt", b"Hotel rates: Berlin 160, Lyon 120.")
    ing = Ingestor(settings, encoder=encoder)
    try:
        first = ing.sync(source.connector())
        assert first.added == 4 and first.failed == 0
        again = ing.sync(source.connector())  # unchanged: the file is listed with its thread, not deleted
        assert again.deleted == 0 and again.unchanged == 4
    finally:
        ing.close()
    docs = {d.title: d for d in source.connector().load()}
    rates = docs["rates.txt (#handbook)"]
    assert rates.content == b"Hotel rates: Berlin 160, Lyon 120." and rates.acl == ["*"]
    assert rates.metadata["attached_to"] == next(d.uri for t, d in docs.items() if t.startswith("#handbook: beta.md"))
