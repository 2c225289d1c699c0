"""The CLI's JSON contract, through the real command in-process."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from citewise.api.cli.main import app
from tests.conftest import DOCS

runner = CliRunner()


def test_ingest_and_search_json(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "policy.md").write_text("# Holidays\n\nEmployees get 27 days of paid holiday per year.\n")
    (folder / "locked.pdf").write_bytes((DOCS / "bad" / "password.pdf").read_bytes())
    result = runner.invoke(app, ["ingest", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"added", "updated", "unchanged", "deleted", "failed", "chunks", "seconds", "errors"} <= set(report)
    assert report["added"] == 1 and report["failed"] == 1
    assert report["errors"][0]["path"].endswith("locked.pdf") and "encrypted" in report["errors"][0]["error"]

    result = runner.invoke(app, ["search", "how many holiday days", "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits and {"doc_id", "chunk_id", "score", "title", "path", "page", "text"} <= set(hits[0])
    assert "27 days" in hits[0]["text"]


def test_bad_arguments_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(app, ["ingest", str(tmp_path), "--acl", "finance"])
    assert result.exit_code == 2 and "user:NAME or group:NAME" in result.output


def test_search_as_principal_with_filters_and_reranker(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    public, hr = tmp_path / "public", tmp_path / "hr"
    public.mkdir()
    hr.mkdir()
    (public / "handbook.md").write_text("# Handbook\n\nThe office opens at nine. Salary reviews happen yearly.\n")
    (hr / "salaries.md").write_text("# Salaries\n\nSalary bands: engineers earn between 60k and 90k.\n")
    assert runner.invoke(app, ["ingest", str(public), "--tenant", "acme"]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(hr), "--tenant", "acme", "--acl", "group:hr"]).exit_code == 0

    def search(*args):
        result = runner.invoke(app, ["search", "salary bands", "--json", "--k", "5", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert {h["title"] for h in search("--tenant", "acme", "--user", "bob")} == {"handbook"}
    as_hr = search("--tenant", "acme", "--group", "hr", "--rerank", "fusion", "--mode", "hybrid")
    assert as_hr[0]["title"] == "salaries" and "rerank" in as_hr[0]["scores"]
    assert search("--tenant", "acme", "--group", "hr", "--filter", f"path_prefix={public}")[0]["title"] == "handbook"
    assert search("--tenant", "globex", "--group", "hr") == []
    assert search() == []  # default tenant holds nothing here


def test_search_rejects_bad_options_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["search", "x", "--filter", "novalue"])
    assert result.exit_code == 2 and "expected key=value" in result.output
    result = runner.invoke(app, ["search", "x", "--filter", "tenant=globex"])
    assert result.exit_code == 2 and "caller's identity" in result.output
    result = runner.invoke(app, ["search", "x", "--mode", "fuzzy"])
    assert result.exit_code == 2 and "mode" in result.output
    result = runner.invoke(app, ["search", "x", "--rerank", "colbert"])
    assert result.exit_code == 2 and "unknown reranker" in result.output


def test_parse_filters_maps_known_keys_and_lists():
    from citewise.api.cli.documents import parse_filters

    out = parse_filters(["source=a", "source=b", "path_prefix=/x", "lang=en|de", "team=core"])
    assert out == {"sources": ["a", "b"], "path_prefix": "/x", "match": {"lang": ["en", "de"], "team": "core"}}


def test_audit_lists_answers_and_prunes_old_rows(tmp_path, monkeypatch):
    from datetime import timedelta

    from sqlalchemy import update

    from citewise.api.orchestration.audit import AuditLog, AuditRow
    from citewise.api.orchestration.schemas import ChatResult
    from citewise.db import init_db, utcnow
    from citewise.identity import Identity
    from citewise.settings import Settings

    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    db = init_db(settings.db_url)
    log = AuditLog(db, settings.telemetry)
    result = ChatResult(
        answer="a", citations=[], grounded=True, refused=False, flags=["x"], session_id=None, trace_id="t1",
        timings={}, profile="citewise", provider="extractive", endpoint="extractive", template="answer@2",
    )  # fmt: skip
    log.record(Identity(tenant="acme", user_id="bob", key_id="k1"), "t1", "q?", result)
    out = runner.invoke(app, ["audit", "list", "--tenant", "acme", "--json"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout.splitlines()[0])
    assert row["user_id"] == "bob" and row["template"] == "answer@2" and row["flags"] == ["x"]
    log.record(Identity(tenant="acme", user_id="bob", key_id="k1"), "t0", "old q?", result)
    with db.begin() as s:  # that second row dates from before the retention window
        s.execute(
            update(AuditRow)
            .where(AuditRow.trace_id == "t0")
            .values(at=utcnow() - timedelta(days=settings.telemetry.audit_retention_days + 1))
        )
    out = runner.invoke(app, ["audit", "prune"])
    assert out.exit_code == 0 and "deleted 1 rows" in out.stdout
    assert len(runner.invoke(app, ["audit", "list", "--tenant", "acme", "--json"]).stdout.splitlines()) == 1
