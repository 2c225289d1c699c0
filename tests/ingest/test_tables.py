"""Tables kept as tables: Markdown in the chunk text, long ones chunked by whole rows with the header
repeated in every chunk, and their rows recorded for the agent's table_query (CSV, XLSX, HTML, DOCX)."""

from __future__ import annotations

import io

from citewise.ingest.chunking import Chunker
from citewise.ingest.parsing.dispatch import parse_document
from citewise.models import RawDocument
from citewise.settings import ChunkingSettings


def _raw(name: str, content: bytes) -> RawDocument:
    return RawDocument(source_id="t", key=name, uri=f"/t/{name}", title=name.rsplit(".", 1)[0], content=content,
                       metadata={"filename": name, "size_bytes": len(content)})  # fmt: skip


def test_a_table_that_spans_chunks_repeats_its_header_in_every_chunk(tokenizer):
    rows = ["employee,office,badge"] + [f"Person {i},Office {i % 7},B-{1000 + i}" for i in range(400)]
    parsed = parse_document(_raw("badges.csv", "\n".join(rows).encode()))
    assert parsed.text.startswith("| employee | office | badge |\n| --- | --- | --- |\n| Person 0 | Office 0 |")
    chunks = Chunker(tokenizer, ChunkingSettings(max_tokens=128, overlap_tokens=16)).run(parsed, doc_id="d")
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text.startswith("| employee | office | badge |\n| --- | --- | --- |\n")  # the header, every time
        assert chunk.token_count <= 128
        body = chunk.text.split("\n")[2:]
        assert all(line.startswith("| Person ") and line.endswith(" |") for line in body)  # whole rows only
    seen = [line for c in chunks for line in c.text.split("\n")[2:]]
    assert seen == [f"| Person {i} | Office {i % 7} | B-{1000 + i} |" for i in range(400)]  # none lost or repeated
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.char_end < b.char_start and parsed.text[b.char_start : b.char_end] in b.text
    assert parsed.tables[0].columns == ["employee", "office", "badge"] and len(parsed.tables[0].rows) == 400


def test_html_and_docx_tables_are_markdown_and_recorded_as_rows():
    html = b"""<html><body><h1>Prices</h1><table><tr><th>Plan</th><th>Monthly</th></tr>
        <tr><td>Team</td><td>12 EUR</td></tr><tr><td>Business | Plus</td><td>30 EUR</td></tr></table></body></html>"""
    parsed = parse_document(_raw("prices.html", html))
    assert "| Plan | Monthly |\n| --- | --- |\n| Team | 12 EUR |\n| Business \\| Plus | 30 EUR |" in parsed.text
    assert parsed.tables[0].columns == ["Plan", "Monthly"] and parsed.tables[0].rows[0] == ["Team", "12 EUR"]
    import docx

    document = docx.Document()
    document.add_paragraph("Rooms and their floors.")
    table = document.add_table(rows=3, cols=2)
    for r, (room, floor) in enumerate([("Room", "Floor"), ("Atlas", "2"), ("Borealis", "5")]):
        table.cell(r, 0).text, table.cell(r, 1).text = room, floor
    buffer = io.BytesIO()
    document.save(buffer)
    parsed = parse_document(_raw("rooms.docx", buffer.getvalue()))
    assert "| Room | Floor |\n| --- | --- |\n| Atlas | 2 |\n| Borealis | 5 |" in parsed.text
    assert parsed.tables[0].rows == [["Atlas", "2"], ["Borealis", "5"]]
