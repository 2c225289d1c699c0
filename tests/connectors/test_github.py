"""The GitHub connector against the GitHub test server (tests/connectors/test_servers): the conformance
suite, issues and pull requests with comments, repository visibility and collaborators/teams as the ACL,
Link pagination, the primary rate limit and errors."""

from __future__ import annotations

import pytest

from citewise.connectors.base import UnchangedItem
from citewise.connectors.github import GithubConnector
from citewise.errors import ConfigError
from citewise.ingest.pipeline import Ingestor
from citewise.models import PUBLIC, Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from tests.connectors.conformance import START, ConnectorConformance
from tests.connectors.conftest import linked_user
from tests.connectors.test_servers.github_api import TOKEN, GithubTestServer


class Repos:
    supports_acl = False  # the repository's; tested below

    def __init__(self) -> None:
        self.server = GithubTestServer()
        self.server.add_repo("acme/handbook", private=False)
        for key, text in START.items():
            self.put(key, text)

    def connector(self, **extra) -> GithubConnector:
        options = {"repositories": "acme/handbook", "token": TOKEN, "base_url": self.server.url}
        return GithubConnector(**(options | extra))

    def put(self, key: str, text: str) -> None:
        self.server.put_issue("acme/handbook", key, text)

    def remove(self, key: str) -> None:
        issues = self.server.repos["acme/handbook"]["issues"]
        del issues[next(n for n, i in issues.items() if i["title"] == key)]


@pytest.fixture
def source():
    repos = Repos()
    yield repos
    repos.server.close()


class TestGithubConformance(ConnectorConformance):
    pass


def test_private_repositories_are_read_by_collaborators_and_teams(source, settings, encoder):
    server = source.server
    server.add_repo("acme/payroll", private=True, collaborators={"hana": True, "ci-bot": False}, teams=["finance"])
    number = server.put_issue("acme/payroll", "Bonus run", "The bonus run moves to March.", pr=True)
    server.comment("acme/payroll", number, "hana", "Approved by finance on Monday.")
    connector = source.connector(repositories="acme/handbook,acme/payroll")
    docs = {d.title: d for d in connector.load()}
    pr = docs["acme/payroll#1: Bonus run"]
    assert pr.acl == ["group:github:acme/finance", "user:github:ci-bot", "user:github:hana"]
    assert "Approved by finance on Monday" in pr.content.decode() and pr.metadata["kind"] == "pull request"
    assert docs["acme/handbook#1: alpha.txt"].acl == [PUBLIC]
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(source.connector(repositories="acme/handbook,acme/payroll"))
        retriever = Retriever(settings, store=ing.store, encoder=encoder)

        def titles(who):  # noqa: ANN001, ANN202
            return [h.title for h in retriever.run(RetrievalRequest(query="bonus run March", principal=who, k=5)).hits]

        hana = linked_user(settings, "hana@example.com", "user:github:hana")
        assert "acme/payroll#1: Bonus run" not in titles(Principal(user_id="hana@example.com"))  # not linked
        assert "acme/payroll#1: Bonus run" in titles(hana)
        assert "acme/payroll#1: Bonus run" in titles(Principal(user_id="x@example.com", groups=["github:acme/finance"]))
        assert "acme/payroll#1: Bonus run" not in titles(Principal(user_id="ann@example.com"))
        del server.repos["acme/payroll"]["collaborators"]["hana"]  # hana loses access
        report = ing.sync(source.connector(repositories="acme/handbook,acme/payroll"))
        assert report.permissions_updated == 1 and report.embedded == 0
        assert "acme/payroll#1: Bonus run" not in titles(hana)
    finally:
        ing.close()


def test_pagination_rate_limit_and_errors(source):
    for n in range(4, 120):
        source.server.put_issue("acme/handbook", f"issue {n}", f"Body {n}.")
    source.server.limited.append("/repos/acme/handbook/issues")
    connector = source.connector()
    docs = list(connector.load())
    assert len(docs) == 119 and any("page=2" in r for r in source.server.requests)
    again = source.connector()
    again.set_known_versions({d.uri: d.version for d in docs})
    assert all(isinstance(i, UnchangedItem) for i in again.load())
    with pytest.raises(ConfigError, match="refused \\(401\\)"):
        source.connector(token="github_pat_wrong").validate()
    with pytest.raises(ConfigError, match="no repository acme/missing"):
        source.connector(repositories="acme/handbook,acme/missing").validate()
    with pytest.raises(ConfigError, match="not owner/name"):
        GithubConnector(repositories="handbook", token=TOKEN)


def test_team_members_are_synced(source, settings, encoder):
    from citewise.db import init_db
    from citewise.identity import create_key, link_identity, lookup

    server = source.server
    server.add_repo("acme/payroll", private=True, teams=["finance"])
    server.put_issue("acme/payroll", "Bonus run", "The bonus run moves to March.")
    server.team_members = {"acme/finance": ["hana"]}
    db = init_db(settings.db_url)
    key = create_key(db, tenant="default", user_id="hana@example.com", groups=[])
    link_identity(db, "default", "user:github:hana", "hana@example.com")  # team members are logins
    connector = dict(repositories="acme/handbook,acme/payroll")
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(source.connector(**connector))
        hana = lookup(db, key)
        retriever = Retriever(settings, store=ing.store, encoder=encoder)
        found = retriever.run(RetrievalRequest(query="bonus run March", principal=hana, k=3)).hits
        assert hana.groups == ["github:acme/finance"] and found[0].title == "acme/payroll#1: Bonus run"
        server.team_members["acme/finance"] = []
        ing.sync(source.connector(**connector))
        assert lookup(db, key).groups == []
    finally:
        ing.close()
