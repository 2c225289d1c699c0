"""`citewise reindex`: switch the collection's dense encoder without fetching or parsing any source again."""

from __future__ import annotations

import typer

from citewise.api.cli.common import command_group
from citewise.settings import Settings

app = command_group(help="Re-embed the stored chunks with another encoder.")


@app.command("reindex")
def reindex_command(
    encoder: str = typer.Option(..., "--encoder", help="encoder registry name: e5 (multilingual), openvino (MiniLM)"),
) -> None:
    """Re-embed every chunk with ENCODER into a new collection, then swap and drop the old one. Searches keep
    using the old collection until the swap; an interrupted run resumes where it stopped. With a running
    server on the embedded index, ask it instead: POST /v1/admin/reindex."""
    from citewise.ingest.reindex import reindex
    from citewise.retrieval.encoders.dense import ENCODERS

    if encoder not in ENCODERS:
        raise typer.BadParameter(f"unknown encoder {encoder!r}; one of: {', '.join(ENCODERS.names())}")
    settings = Settings()
    with typer.progressbar(length=1, label=f"reindex to {encoder}") as bar:
        state = {"done": 0}

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - state["done"])
            state["done"] = done

        report = reindex(settings, encoder, progress=progress)
    if report.total == 0 and report.previous_encoder == encoder:
        typer.echo(f"{report.collection} is built with {encoder} already")
        return
    typer.echo(
        f"{report.collection}: {report.previous_encoder} -> {encoder}, {report.total} chunks "
        f"({report.embedded} embedded, {report.skipped} from an earlier run) in {report.seconds} s"
    )
