import json
import time
from datetime import UTC, datetime

import pytest

from citewise.connectors import FailedItem, available_connectors, create_connector
from citewise.connectors.filesystem import FilesystemConnector
from citewise.connectors.jsonl import JsonlConnector
from citewise.errors import ConfigError


def test_builtins_registered_through_entry_points():
    found = available_connectors()
    assert found["filesystem"] is FilesystemConnector
    assert found["jsonl"] is JsonlConnector


def test_unknown_connector_names_the_available_ones():
    with pytest.raises(ConfigError, match="filesystem"):
        create_connector("dropbox", path=".")


def test_filesystem_walks_recursively_and_skips_hidden(tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# beta")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    conn = FilesystemConnector(path=tmp_path, acl=["group:eng"])
    assert sorted(conn.list_ids()) == ["a.txt", "sub/b.md"]
    docs = list(conn.load())
    assert {d.key for d in docs} == {"a.txt", "sub/b.md"}
    assert all(d.acl == ["group:eng"] and d.content for d in docs)


def test_filesystem_single_file_and_poll(tmp_path):
    f = tmp_path / "one.txt"
    f.write_text("one")
    conn = FilesystemConnector(path=f)
    assert [d.key for d in conn.load()] == ["one.txt"]
    future = datetime.fromtimestamp(time.time() + 60, UTC)
    assert list(conn.poll(future)) == []
    assert [d.key for d in conn.poll(datetime.fromtimestamp(0, UTC))] == ["one.txt"]


def test_filesystem_too_large_file_is_not_read(tmp_path):
    (tmp_path / "big.txt").write_text("x" * 1000)
    doc = next(FilesystemConnector(path=tmp_path, max_bytes=10).load())
    assert doc.content is None and doc.metadata["size_bytes"] == 1000


def test_jsonl_reads_beir_records_and_reports_bad_lines(tmp_path):
    f = tmp_path / "corpus.jsonl"
    lines = [
        json.dumps({"_id": "d1", "title": "First", "text": "Alpha text.", "year": 2020}),
        "{not json",
        json.dumps({"_id": "d2", "title": "No text"}),
        "",
        json.dumps({"id": 7, "contents": "Seven."}),
    ]
    f.write_text("\n".join(lines))
    items = list(JsonlConnector(path=f).load())
    docs = [i for i in items if not isinstance(i, FailedItem)]
    failed = [i for i in items if isinstance(i, FailedItem)]
    assert [d.key for d in docs] == ["d1", "7"]
    assert docs[0].title == "First" and docs[0].text == "Alpha text." and docs[0].metadata == {"year": 2020}
    assert {f.error.split(":")[0] for f in failed} == {"corrupt", "empty"}
    assert list(JsonlConnector(path=f).list_ids()) == ["d1", "line:2", "d2", "7"]
