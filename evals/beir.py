"""A BEIR-format dataset folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv. Errors name file and line."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from citewise.errors import DatasetError


@dataclass
class BeirDataset:
    name: str
    root: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @property
    def corpus(self) -> Path:
        return self.root / "corpus.jsonl"


def load_beir(root: Path, split: str = "test") -> BeirDataset:
    root = Path(root)
    for needed in (root / "corpus.jsonl", root / "queries.jsonl", root / "qrels" / f"{split}.tsv"):
        if not needed.is_file():
            raise DatasetError(
                f"{needed} is missing; a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/{split}.tsv"
            )
    queries: dict[str, str] = {}
    with (root / "queries.jsonl").open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                queries[str(row["_id"])] = str(row["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(f"queries.jsonl line {n}: expected a JSON object with _id and text ({exc})") from exc
    qrels: dict[str, dict[str, int]] = {}
    with (root / "qrels" / f"{split}.tsv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        for n, row in enumerate(reader, 1):
            if n == 1 and row and row[0] == "query-id":
                continue
            if not row:
                continue
            if len(row) != 3:
                raise DatasetError(f"qrels/{split}.tsv line {n}: expected query-id, corpus-id, score")
            try:
                score = int(row[2])
            except ValueError as exc:
                raise DatasetError(f"qrels/{split}.tsv line {n}: score {row[2]!r} is not an integer") from exc
            if score > 0:
                qrels.setdefault(row[0], {})[row[1]] = score
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise DatasetError(f"qrels/{split}.tsv names {len(missing)} query ids absent from queries.jsonl: {missing[:5]}")
    corpus_ids = _corpus_ids(root / "corpus.jsonl")
    dangling = sorted({d for docs in qrels.values() for d in docs} - corpus_ids)
    if dangling:
        raise DatasetError(f"qrels/{split}.tsv: {len(dangling)} corpus ids absent from corpus.jsonl: {dangling[:5]}")
    return BeirDataset(root.name, root, {q: queries[q] for q in qrels}, qrels)


def _corpus_ids(path: Path) -> set[str]:
    ids: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ids.add(str(json.loads(line)["_id"]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(f"corpus.jsonl line {n}: expected a JSON object with _id ({exc})") from exc
    return ids
