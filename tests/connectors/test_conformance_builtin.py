"""The conformance suite for the built-in local connectors: a folder and a JSONL file."""

from __future__ import annotations

import json

import pytest

from citewise.connectors.filesystem import FilesystemConnector
from citewise.connectors.jsonl import JsonlConnector
from tests.connectors.conformance import START, ConnectorConformance


class Folder:
    supports_acl = False

    def __init__(self, root) -> None:  # noqa: ANN001
        self.root = root
        root.mkdir()
        for key, text in START.items():
            self.put(key, text)

    def connector(self) -> FilesystemConnector:
        return FilesystemConnector(path=self.root)

    def put(self, key: str, text: str) -> None:
        (self.root / key).write_text(text)

    def remove(self, key: str) -> None:
        (self.root / key).unlink()


class JsonlFile:
    supports_acl = False

    def __init__(self, path) -> None:  # noqa: ANN001
        self.path, self.records = path, dict(START)
        self._write()

    def _write(self) -> None:
        lines = [json.dumps({"_id": k, "title": k, "text": v}) for k, v in self.records.items()]
        self.path.write_text("\n".join(lines) + "\n")

    def connector(self) -> JsonlConnector:
        return JsonlConnector(path=self.path)

    def put(self, key: str, text: str) -> None:
        self.records[key] = text
        self._write()

    def remove(self, key: str) -> None:
        del self.records[key]
        self._write()


class TestFilesystemConformance(ConnectorConformance):
    @pytest.fixture
    def source(self, tmp_path):
        return Folder(tmp_path / "docs")


class TestJsonlConformance(ConnectorConformance):
    @pytest.fixture
    def source(self, tmp_path):
        return JsonlFile(tmp_path / "corpus.jsonl")
