"""Identity links over the API and the CLI: admins link source ids; a key for the user gains them at lookup."""

from __future__ import annotations

from citewise.identity import lookup
from tests.api.client import auth


def test_admins_link_and_unlink_source_ids_and_keys_gain_them(env):
    client, keys, settings = env
    body = {"external": "user:jira:557058:bob", "user_id": "bob"}
    assert client.put("/v1/identities", json=body, headers=auth(keys, "bob")).status_code == 403
    assert client.get("/v1/identities", headers=auth(keys, "bob")).status_code == 403
    r = client.put("/v1/identities", json=body, headers=auth(keys, "admin"))
    assert r.status_code == 200 and r.json() == body
    assert client.get("/v1/identities", headers=auth(keys, "admin")).json()["links"] == [body]
    assert client.get("/v1/identities", headers=auth(keys, "globex")).status_code == 403  # not an admin anywhere
    from citewise.db import init_db

    db = init_db(settings.db_url)
    bob = lookup(db, keys["bob"])
    assert bob.aliases == ["user:jira:557058:bob"] and "user:jira:557058:bob" in bob.acl_principals()
    assert lookup(db, keys["hr"]).aliases == []  # another user of the tenant gains nothing
    for bad in ({"external": "jira:557058", "user_id": "bob"}, {"external": "user:jira:", "user_id": "bob"},
                {"external": "user:jira:1", "user_id": "user:jira:2"}):  # fmt: skip
        r = client.put("/v1/identities", json=bad, headers=auth(keys, "admin"))
        assert r.status_code == 400 and r.json()["detail"], bad
    assert client.delete("/v1/identities/user:jira:557058:bob", headers=auth(keys, "admin")).status_code == 204
    assert client.delete("/v1/identities/user:jira:557058:bob", headers=auth(keys, "admin")).status_code == 404
    assert lookup(db, keys["bob"]).aliases == []


def test_a_linked_id_brings_the_groups_synced_for_it(tmp_path):
    from citewise.db import init_db
    from citewise.identity import create_key, link_identity, replace_memberships

    db = init_db(f"sqlite:///{tmp_path / 'meta.db'}")
    key = create_key(db, tenant="t", user_id="ann@example.com", groups=["own"])
    replace_memberships(db, "t", "jira:x", [("user:jira:557058:ann", "group:sre"), ("user:jira:other", "group:hr")])
    assert lookup(db, key).groups == ["own"]
    link_identity(db, "t", "user:jira:557058:ann", "ann@example.com")
    ann = lookup(db, key)
    assert ann.groups == ["own", "sre"] and ann.aliases == ["user:jira:557058:ann"]
    link_identity(db, "other-tenant", "user:jira:other", "ann@example.com")  # links are per tenant
    assert lookup(db, key).groups == ["own", "sre"]


def test_cli_links_lists_and_unlinks(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from citewise.api.cli.main import app

    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(app, ["identities", "link", "user:github:hana", "hana@example.com"])
    assert result.exit_code == 0 and "user:github:hana -> user:hana@example.com" in result.output
    listed = json.loads(runner.invoke(app, ["identities", "list", "--json"]).output)
    assert listed == [{"external": "user:github:hana", "user_id": "hana@example.com"}]
    bad = runner.invoke(app, ["identities", "link", "hana", "hana@example.com"])
    assert bad.exit_code == 2 and "user:<source>:<id>" in bad.output
    assert runner.invoke(app, ["identities", "unlink", "user:github:hana"]).exit_code == 0
    assert runner.invoke(app, ["identities", "unlink", "user:github:hana"]).exit_code == 2
