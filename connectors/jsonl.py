"""One document per line of a JSON Lines file, e.g. a BEIR `corpus.jsonl` (`_id`, `title`, `text`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from citewise.connectors.base import ConnectorConfig, FailedItem, ListIdsConnector, LoadConnector
from citewise.errors import ConfigError
from citewise.models import RawDocument

ID_FIELDS = ("_id", "id", "doc_id")
TEXT_FIELDS = ("text", "contents", "content", "body")


class JsonlConfig(ConnectorConfig):
    path: str = Field(description="a .jsonl file: one record per line with an id (_id, id, doc_id) and text")


class JsonlConnector(LoadConnector, ListIdsConnector):
    kind = "jsonl"
    Config = JsonlConfig
    path_options = ("path",)

    def __init__(self, *, path: str | Path, **config: Any) -> None:
        super().__init__(**config)
        self.path = Path(path).expanduser().resolve()

    @property
    def source_id(self) -> str:
        return f"jsonl:{self.path}"

    def validate(self) -> None:
        if not self.path.is_file():
            raise ConfigError(f"path: no such file: {self.path}")

    def _records(self) -> Iterator[tuple[int, dict[str, Any] | FailedItem]]:
        with self.path.open("rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                uri = f"{self.path}#L{lineno}"
                try:
                    record = json.loads(line)
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    yield (
                        lineno,
                        FailedItem(
                            key=f"line:{lineno}", uri=uri, error=f"corrupt: line {lineno} is not valid JSON ({exc})"
                        ),
                    )
                    continue
                if not isinstance(record, dict):
                    yield (
                        lineno,
                        FailedItem(key=f"line:{lineno}", uri=uri, error=f"corrupt: line {lineno} is not a JSON object"),
                    )
                    continue
                yield lineno, record

    @staticmethod
    def _id(record: dict[str, Any], lineno: int) -> str:
        for field in ID_FIELDS:
            if record.get(field) not in (None, ""):
                return str(record[field])
        return f"line:{lineno}"

    def list_ids(self) -> Iterator[str]:
        for lineno, rec in self._records():
            yield rec.key if isinstance(rec, FailedItem) else self._id(rec, lineno)

    def load(self) -> Iterator[RawDocument | FailedItem]:
        for lineno, rec in self._records():
            if isinstance(rec, FailedItem):
                yield rec
                continue
            key = self._id(rec, lineno)
            text = next((rec[f] for f in TEXT_FIELDS if isinstance(rec.get(f), str)), None)
            if text is None:
                yield FailedItem(
                    key=key,
                    uri=f"{self.path}#{key}",
                    error=f"empty: record {key!r} has no text field (expected one of {', '.join(TEXT_FIELDS)})",
                )
                continue
            extra = {k: v for k, v in rec.items() if k not in (*ID_FIELDS, *TEXT_FIELDS, "title")}
            yield RawDocument(
                source_id=self.source_id,
                key=key,
                uri=f"{self.path}#{key}",
                title=str(rec.get("title") or ""),
                text=text,
                acl=self.acl,
                metadata={k: v for k, v in extra.items() if isinstance(v, (str, int, float, bool))},
            )
