"""`citewise ingest` and `citewise search`: the index from the command line, as a principal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from citewise.api.cli.common import JsonOpt, command_group, fail
from citewise.errors import InvalidInputError
from citewise.models import IngestReport, Principal
from citewise.settings import Settings

app = command_group()


def _connector_for(path: Path, kind: str | None, acl: list[str] | None, max_bytes: int):  # noqa: ANN202
    from citewise.connectors import create_connector

    if kind is None:
        kind = "jsonl" if path.is_file() and path.suffix.lower() == ".jsonl" else "filesystem"
    config = {"path": path, "acl": acl}
    if kind == "filesystem":
        config["max_bytes"] = max_bytes
    return create_connector(kind, **config)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (a .jsonl file: one document per line)")],
    tenant: Annotated[str, typer.Option(help="tenant the documents belong to")] = "default",
    acl: Annotated[
        list[str] | None, typer.Option(help="principal allowed to see them (user:U, group:G); repeatable")
    ] = None,
    connector: Annotated[
        str | None, typer.Option(help="connector type; default: jsonl for .jsonl files, else filesystem")
    ] = None,
    collection: Annotated[str | None, typer.Option(help="index collection (default from settings)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON report, no progress bar")] = False,
) -> None:
    """Ingest files and folders; re-running syncs changes and deletions."""
    from citewise.ingest.pipeline import Ingestor
    from citewise.ingest.progress import default_progress

    settings = Settings()
    for principal in acl or []:
        if not principal.startswith(("user:", "group:")):
            fail(f"--acl {principal!r}: use user:NAME or group:NAME")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    report = IngestReport()
    ingestor = Ingestor(settings, collection=collection)
    try:
        for path in paths:
            conn = _connector_for(path, connector, acl, int(settings.ingest.max_file_mb * 1_000_000))
            report.merge(ingestor.sync(conn, tenant=tenant, progress=default_progress(as_json)))
    finally:
        ingestor.close()
    if as_json:
        typer.echo(json.dumps(report.model_dump()))
        return
    typer.echo(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, deleted {report.deleted}, "
        f"failed {report.failed}; {report.chunks} chunks"
    )
    for err in report.errors:
        typer.echo(f"  failed: {err.path}: {err.error}", err=True)


def parse_filters(pairs: list[str]) -> dict:
    """`key=value` pairs into SearchFilters fields; a repeated key (or `a|b`) means any of the values."""
    named = {"source": "sources", "doc_id": "doc_ids", "path_prefix": "path_prefix", "modified_after": "modified_after"}
    out: dict = {"match": {}}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--filter {pair!r}: expected key=value")
        key, values = key.strip(), [v for v in value.split("|") if v != ""]
        if key in ("path_prefix", "modified_after"):
            out[named[key]] = value
        elif key in named:
            out.setdefault(named[key], []).extend(values)
        else:
            prior = out["match"].get(key, [])
            out["match"][key] = (prior if isinstance(prior, list) else [prior]) + values
    out["match"] = {k: v[0] if len(v) == 1 else v for k, v in out["match"].items()}
    return out


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="what to look for")],
    k: Annotated[int, typer.Option(min=1, max=200)] = 5,
    mode: Annotated[str | None, typer.Option(help="hybrid | dense | sparse (default: settings, hybrid)")] = None,
    rerank: Annotated[str | None, typer.Option(help="none | fusion | cross-encoder (default: settings)")] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="key=value; keys: source, doc_id, path_prefix, modified_after (ISO date) or any payload key; "
            "repeatable, a|b for any of",
        ),
    ] = None,
    max_per_doc: Annotated[int | None, typer.Option(min=1, help="chunks per document")] = None,
    mmr: Annotated[float | None, typer.Option(min=0, max=1, help="MMR lambda (1 = relevance only)")] = None,
    neighbours: Annotated[int | None, typer.Option(min=0, max=5, help="context chunks around each hit")] = None,
    tenant: Annotated[str, typer.Option()] = "default",
    user: Annotated[str | None, typer.Option(help="search as this user")] = None,
    group: Annotated[list[str] | None, typer.Option(help="search as a member of this group; repeatable")] = None,
    collection: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the index as a principal (tenant, user, groups)."""
    from citewise.retrieval.retriever import RetrievalRequest, Retriever, SearchFilters

    request = RetrievalRequest(
        query=query,
        principal=Principal(tenant=tenant, user_id=user, groups=group or []),
        filters=SearchFilters(**parse_filters(filter_ or [])),
        k=k,
        mode=mode,
        reranker=rerank,
        max_per_doc=max_per_doc,
        mmr_lambda=mmr,
        neighbours=neighbours,
    )
    retriever = Retriever(Settings(), collection=collection)
    try:
        hits = retriever.run(request).hits
    finally:
        retriever.close()
    if as_json:
        typer.echo(json.dumps([h.model_dump(exclude_defaults=False) for h in hits]))
        return
    if not hits:
        typer.echo("no results")
    for i, h in enumerate(hits, 1):
        where = f"{h.path}" + (f" p.{h.page}" if h.page else "")
        typer.echo(f"{i}. [{h.score:.4f}] {h.title or '(untitled)'} - {where}")
        snippet = " ".join(h.text.split())
        typer.echo(f"   {snippet[:240]}{'...' if len(snippet) > 240 else ''}")
