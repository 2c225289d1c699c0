"""The CLI's JSON contract, through the real command in-process."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import app
from tests.conftest import DOCS

runner = CliRunner()


def test_ingest_and_search_json(tmp_path, monkeypatch):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "policy.md").write_text("# Holidays\n\nEmployees get 27 days of paid holiday per year.\n")
    (folder / "old.doc").write_bytes((DOCS / "bad" / "fake.doc").read_bytes())
    result = runner.invoke(app, ["ingest", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"added", "updated", "unchanged", "deleted", "failed", "chunks", "seconds", "errors"} <= set(report)
    assert report["added"] == 1 and report["failed"] == 1
    assert report["errors"][0]["path"].endswith("old.doc") and "legacy_format" in report["errors"][0]["error"]

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
