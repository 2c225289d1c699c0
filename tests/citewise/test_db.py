"""The metadata DB on SQLite and a real PostgreSQL: migrations from empty, and every table's round trip."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect

from citewise.db import init_db, migrate

TABLES = {"documents", "embedding_cache", "api_keys", "chat_sessions", "chat_messages", "connectors", "jobs"}


def test_migrations_up_from_empty_and_down_again(db_url):
    from alembic import command
    from alembic.config import Config

    from citewise.db import MIGRATIONS, get_engine

    migrate(db_url)
    assert TABLES | {"alembic_version"} <= set(inspect(get_engine(db_url)).get_table_names())
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with get_engine(db_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert not TABLES & set(inspect(create_engine(db_url)).get_table_names())
    migrate(db_url)  # and up again
    assert TABLES <= set(inspect(create_engine(db_url)).get_table_names())
    uniques = [u["column_names"] for u in inspect(create_engine(db_url)).get_unique_constraints("connectors")]
    assert uniques == [["tenant", "name"]], uniques


def test_connector_names_become_unique_per_tenant_on_upgrade(db_url):
    """0001 made names unique across tenants; 0002 keeps the rows and makes them unique per tenant."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from citewise.db import MIGRATIONS, get_engine

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = get_engine(db_url)
    insert = text(
        "INSERT INTO connectors (id, name, tenant, type, config, acl, created_at) "
        "VALUES (:id, 'wiki', :tenant, 'filesystem', '{}', '[]', CURRENT_TIMESTAMP)"
    )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(insert, {"id": "c1", "tenant": "acme"})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # 0001: taken for every tenant
        conn.execute(insert, {"id": "c2", "tenant": "globex"})
    migrate(db_url)
    with engine.begin() as conn:
        conn.execute(insert, {"id": "c2", "tenant": "globex"})
        assert conn.execute(text("SELECT count(*) FROM connectors")).scalar() == 2
    with pytest.raises(IntegrityError), engine.begin() as conn:  # still one 'wiki' per tenant
        conn.execute(insert, {"id": "c3", "tenant": "acme"})


def test_sync_state_keys_sessions_and_cache_round_trip(db_url):
    import citewise.identity as identity
    from citewise.api.orchestration.sessions import SessionStore
    from citewise.errors import NotFoundError
    from citewise.ingest.state import EmbeddingCache, SyncState
    from citewise.models import Principal

    db = init_db(db_url)
    state = SyncState(db, "col")
    row = {
        "doc_id": "d1", "tenant": "acme", "source_id": "src", "key": "a.txt", "uri": "/a.txt", "title": "A",
        "status": "indexed", "fingerprint": "f" * 64, "version": "v1", "chunks": 3, "error": None,
    }  # fmt: skip
    state.upsert([row])
    state.upsert([{**row, "chunks": 4}])  # upsert, not a duplicate
    known = state.for_source("src", "acme")
    assert list(known) == ["d1"] and known["d1"].chunks == 4 and known["d1"].key == "a.txt"
    state.remove(["d1"])
    assert state.for_source("src", "acme") == {}

    key = identity.create_key(db, tenant="acme", user_id="bob", groups=["eng", "eng", "hr"], admin=True)
    found = identity.lookup(db, key)
    assert found.tenant == "acme" and found.groups == ["eng", "hr"] and found.admin
    assert identity.lookup(db, key + "x") is None

    sessions = SessionStore(db)
    sid, history = sessions.open(Principal(tenant="acme", user_id="bob"), None)
    sessions.append(sid, "q?", "a.")
    again, memory = sessions.open(Principal(tenant="acme", user_id="bob"), sid)
    assert again == sid and memory.turns == [("user", "q?"), ("assistant", "a.")] and memory.summary == ""
    with pytest.raises(NotFoundError):  # another principal's session is not found
        sessions.open(Principal(tenant="acme", user_id="eve"), sid)

    cache = EmbeddingCache(db, 4)
    cache.put_many({"k": np.arange(4, dtype=np.float32)})
    assert np.array_equal(cache.get_many(["k", "missing"])["k"], np.arange(4, dtype=np.float32))


def test_a_database_from_before_migrations_is_adopted(tmp_path):
    """Data dirs created with create_all (before Alembic) are stamped, then upgraded, keeping their rows."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE documents (doc_id VARCHAR(64) PRIMARY KEY, collection VARCHAR(200))"))
        conn.execute(text("INSERT INTO documents VALUES ('d1', 'c')"))
        conn.execute(text("CREATE TABLE chat_sessions (id VARCHAR(36) PRIMARY KEY, tenant VARCHAR(200))"))
    migrate(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT doc_id FROM documents")).scalar() == "d1"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0012"
