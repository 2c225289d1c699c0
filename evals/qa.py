"""The QA format: JSONL with `question`, `answers` (list; empty = not answerable) and optional `doc_ids`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from citewise.errors import DatasetError, describe


class QAItem(BaseModel):
    question: str = Field(min_length=1)
    answers: list[str] = Field(default_factory=list)
    doc_ids: list[str] | None = None


def load_qa(path: Path) -> list[QAItem]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path} is missing; a QA file is JSONL with question, answers and optional doc_ids")
    items = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                items.append(QAItem.model_validate_json(line))
            except ValidationError as exc:
                raise DatasetError(f"{path.name} line {n}: {describe(exc)}") from exc
    if not items:
        raise DatasetError(f"{path} holds no questions")
    return items
