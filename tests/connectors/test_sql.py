"""The SQL connector on SQLite and on a real PostgreSQL server: the conformance suite (rows as documents,
ACLs from a column, versions from an updated-at column), and validation that fails at once with its reason."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import create_engine, text

from citewise.connectors.sql import SqlConnector
from citewise.errors import ConfigError
from tests.connectors.conformance import START, ConnectorConformance

_clock = itertools.count(1)


class Table:
    supports_acl = True

    def __init__(self, url: str) -> None:
        self.url, self.engine = url, create_engine(url)
        with self.engine.begin() as conn:
            conn.execute(
                text("CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, body TEXT, acl TEXT, updated INTEGER)")
            )
        for key, value in START.items():
            self.put(key, value)

    def connector(self) -> SqlConnector:
        return SqlConnector(
            url=self.url, table="articles", id_column="id", title_column="title", text_columns="body",
            updated_column="updated", acl_column="acl",
        )  # fmt: skip

    def put(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM articles WHERE id = :id"), {"id": key})
            conn.execute(
                text("INSERT INTO articles VALUES (:id, :title, :body, NULL, :updated)"),
                {"id": key, "title": key.split(".")[0], "body": value, "updated": next(_clock)},
            )

    def remove(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM articles WHERE id = :id"), {"id": key})

    def restrict(self, key: str, principals: list[str]) -> None:  # only the ACL: `updated` stays
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE articles SET acl = :acl WHERE id = :id"), {"acl": " ".join(principals), "id": key}
            )


@pytest.fixture
def pg_database(postgres_server):
    name = f"src_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{postgres_server}/{name}"


class TestSqliteConformance(ConnectorConformance):
    @pytest.fixture
    def source(self, tmp_path):
        return Table(f"sqlite:///{tmp_path / 'source.db'}")


class TestPostgresConformance(ConnectorConformance):
    @pytest.fixture
    def source(self, pg_database):
        return Table(pg_database)


def test_a_query_maps_rows_and_runs_read_only(tmp_path):
    table = Table(f"sqlite:///{tmp_path / 'source.db'}")
    docs = list(
        SqlConnector(
            url=table.url, query="SELECT id, body FROM articles WHERE id LIKE 'a%'", text_columns=["body"]
        ).load()
    )
    assert [d.key for d in docs] == ["alpha.txt"] and "27 days" in docs[0].text
    writer = SqlConnector(url=table.url, query="DELETE FROM articles RETURNING id, body", text_columns=["body"])
    with pytest.raises(Exception, match="readonly|read-only|query_only|attempt to write"):
        list(writer.load())
    assert len(list(table.connector().list_ids())) == 3


def test_validate_names_what_is_wrong(tmp_path, postgres_server):
    table = Table(f"sqlite:///{tmp_path / 'source.db'}")
    with pytest.raises(ConfigError, match="no column headline"):
        SqlConnector(url=table.url, table="articles", text_columns=["headline"]).validate()
    with pytest.raises(ConfigError, match="no such table"):
        SqlConnector(url=table.url, table="missing", text_columns=["body"]).validate()
    with pytest.raises(ConfigError, match="a query or a table"):
        SqlConnector(url=table.url, text_columns=["body"])
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "DO $$ BEGIN CREATE ROLE secured LOGIN PASSWORD 'right-pass'; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    admin.dispose()
    host = postgres_server.split("@", 1)[1]
    wrong = f"postgresql+psycopg://secured:wrong-pass-123@{host}/postgres"
    with pytest.raises(ConfigError, match="wrong user or password") as caught:
        SqlConnector(url=wrong, query="SELECT 1 AS id, 'x' AS body", text_columns=["body"]).validate()
    assert "wrong-pass-123" not in str(caught.value)
    unreachable = "postgresql+psycopg://secured:pw-secret-1@127.0.0.1:9/postgres"
    with pytest.raises(ConfigError, match="cannot reach") as caught:
        SqlConnector(url=unreachable, query="SELECT 1 AS id, 'x' AS body", text_columns=["body"]).validate()
    assert "pw-secret-1" not in str(caught.value)
    right = f"postgresql+psycopg://secured:right-pass@{host}/postgres"
    SqlConnector(url=right, query="SELECT 1 AS id, 'x' AS body", text_columns=["body"]).validate()
