"""JSON and NDJSON documents.

unstructured's JSON partitioner only reads its own element serialisation, so arbitrary JSON is flattened
here: every scalar becomes a `key.path: value` line, grouped per top-level record.
"""

from __future__ import annotations

import json
from typing import Any

from citewise.errors import CorruptDocumentError, DocumentError
from citewise.ingest.parsing.assemble import Block, assemble
from citewise.ingest.parsing.text import decode_text
from citewise.models import ParsedDocument


def _flatten(value: Any, prefix: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            joined = ", ".join(str(v) for v in value if v is not None)
            if joined:
                out.append(f"{prefix}: {joined}" if prefix else joined)
        else:
            for i, item in enumerate(value):
                _flatten(item, f"{prefix}[{i}]", out)
    elif value is not None and str(value).strip():
        out.append(f"{prefix}: {value}" if prefix else str(value))


def _record_block(record: Any) -> Block:
    lines: list[str] = []
    _flatten(record, "", lines)
    return Block("text", "\n".join(lines))


def _parse_json(content: bytes, *, fmt: str, title: str) -> ParsedDocument:
    text = decode_text(content)
    if fmt == "ndjson":
        blocks = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                blocks.append(_record_block(json.loads(line)))
            except json.JSONDecodeError as exc:
                raise CorruptDocumentError(f"line {lineno} is not valid JSON ({exc.msg})") from exc
        return assemble(blocks, title=title)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptDocumentError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    records = data if isinstance(data, list) else [data]
    return assemble([_record_block(r) for r in records], title=title)


def parse_json(content: bytes, *, fmt: str, title: str) -> ParsedDocument:
    try:
        return _parse_json(content, fmt=fmt, title=title)
    except RecursionError as exc:  # json nested thousands deep: refuse it, never an internal error
        raise DocumentError("the JSON is nested too deeply to index", kind="too_deep") from exc
