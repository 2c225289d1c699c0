"""Tables as every parser hands them on: Markdown for the chunk text (the chunker splits a long one by rows
and repeats its header), and rows for the agent's `table_query`."""

from __future__ import annotations

from citewise.models import TableData


def markdown_table(rows: list[list[str]]) -> str:
    """Rows as a Markdown table, the first row as header; ragged rows are padded. The chunker splits a long
    one by rows and repeats the header (the first two lines) in every chunk."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)

    def line(cells: list[str]) -> str:
        cells = [" ".join(c.split()).replace("|", "\\|") for c in cells] + [""] * (width - len(cells))
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(rows[0]), "|" + " --- |" * width, *(line(r) for r in rows[1:])])


def table_data(name: str, rows: list[list[str]]) -> TableData | None:
    """The first row is the header; a table needs one and at least one row under it."""
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        return None
    columns = [c.strip() for c in rows[0]]
    return TableData(name=name or "table", columns=columns, rows=[[c.strip() for c in r] for r in rows[1:]])
