"""The `citewise` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from citewise.errors import CitewiseError, describe
from citewise.models import IngestReport, Principal
from citewise.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Citewise: cited answers from your documents.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print measured figures.")
models_app = typer.Typer(no_args_is_help=True, help="Local model files.")
app.add_typer(bench_app, name="bench")
app.add_typer(models_app, name="models")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for the HTTP API.")
app.add_typer(keys_app, name="keys")
connectors_app = typer.Typer(no_args_is_help=True, help="Data sources synced as jobs.")
app.add_typer(connectors_app, name="connectors")
eval_app = typer.Typer(no_args_is_help=True, help="Retrieval and answer evaluation with reports and a regression gate.")
app.add_typer(eval_app, name="eval")


# Options shared by the commands that run over a BEIR dataset.
BeirArg = Annotated[Path, typer.Argument(help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv")]
SplitOpt = Annotated[str, typer.Option(help="qrels split")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="first N queries only")]
# Connector names are unique per tenant; the CLI (a local admin) names the tenant when a name repeats.
TenantOpt = Annotated[str | None, typer.Option(help="the connector's tenant (names repeat across tenants)")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _connector_for(path: Path, kind: str | None, acl: list[str] | None, max_bytes: int):
    from connectors import create_connector

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
    from ingest.pipeline import Ingestor
    from ingest.progress import default_progress

    settings = Settings()
    for principal in acl or []:
        if not principal.startswith(("user:", "group:")):
            _fail(f"--acl {principal!r}: use user:NAME or group:NAME")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    report = IngestReport()
    ingestor = Ingestor(settings, collection=collection)
    try:
        for path in paths:
            conn = _connector_for(path, connector, acl, int(settings.ingest.max_file_mb * 1_000_000))
            report.merge(ingestor.sync(conn, tenant=tenant, progress=default_progress(as_json)))
    except CitewiseError as exc:
        _fail(str(exc))
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
            raise ValueError(f"--filter {pair!r}: expected key=value")
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
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search the index as a principal (tenant, user, groups)."""
    from pydantic import ValidationError

    from retrieval.retriever import RetrievalRequest, Retriever, SearchFilters

    try:
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
    except (ValidationError, ValueError) as exc:
        _fail(describe(exc))
    retriever = Retriever(Settings(), collection=collection)
    try:
        result = retriever.run(request)
    except CitewiseError as exc:
        _fail(str(exc))
    finally:
        retriever.close()
    hits = result.hits
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


@models_app.command("prepare")
def models_prepare() -> None:
    """Check the embedding model and build the OpenVINO int8 fast path (done by `make install`)."""
    from retrieval.encoders.dense import load_dense_encoder
    from retrieval.encoders.model_files import resolve_model_dir
    from retrieval.encoders.openvino_export import openvino_model_path

    settings = Settings()
    try:
        model_dir = resolve_model_dir(settings.embedding)
        path = openvino_model_path(model_dir, settings.embedding.cache_dir)
        load_dense_encoder(settings.embedding).embed_query("ready")
    except CitewiseError as exc:
        _fail(str(exc))
    typer.echo(f"model: {model_dir}\nopenvino int8: {path}")


@bench_app.command("ingest")
def bench_ingest(
    path: Annotated[Path, typer.Argument(help="a BEIR corpus.jsonl or a folder")],
    torch_sample: Annotated[int, typer.Option(help="chunks embedded with torch for the speed ratio (0 = all)")] = 0,
    repeats: Annotated[int, typer.Option(min=1, help="repeat every measurement; ratios are medians")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ingestion throughput, pure embedding time (fast path vs torch) and peak RSS, in one process."""
    from evals.bench_ingest import run_ingest_benchmark

    result = run_ingest_benchmark(
        path, torch_sample=torch_sample, repeats=repeats, log=lambda m: typer.echo(m, err=True)
    )
    typer.echo(json.dumps(result, indent=None if as_json else 2))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default: CITEWISE_API__HOST (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default: CITEWISE_API__PORT (8000)")] = None,
) -> None:
    """Serve the HTTP API (docs at /docs) on the data dir's index."""
    import uvicorn

    from api.app import create_app
    from api.observability import configure_logging

    settings = Settings()
    configure_logging()
    try:
        uvicorn.run(
            create_app(settings),
            host=host or settings.api.host,
            port=port or settings.api.port,
            log_level="warning",
            access_log=False,
        )
    except CitewiseError as exc:
        _fail(str(exc))


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option()] = "default",
    user: Annotated[str | None, typer.Option(help="the user this key acts as")] = None,
    group: Annotated[list[str] | None, typer.Option(help="a group of that user; repeatable")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="may manage documents and connectors")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    import api.identity as identity
    from citewise.db import init_db

    key = identity.create_key(init_db(Settings().db_url), tenant=tenant, user_id=user, groups=group or [], admin=admin)
    if as_json:
        typer.echo(json.dumps({"key": key}))
    else:
        typer.echo(key)
        typer.echo(
            f"(tenant {tenant}, user {user or '-'}, groups {', '.join(group or []) or '-'}"
            f"{', admin' if admin else ''}; store it now: it is not shown again)",
            err=True,
        )


@keys_app.command("local")
def keys_local() -> None:
    """The local admin key of this data dir (created on first use, kept in DATA_DIR/local-api-key, mode 600),
    with a curl example: what `make run` prints before serving."""
    import os

    import api.identity as identity
    from citewise.db import init_db

    settings = Settings()
    db = init_db(settings.db_url)
    path = settings.data_dir / "local-api-key"
    key = path.read_text().strip() if path.is_file() else ""
    if not key or identity.lookup(db, key) is None:
        key = identity.create_key(db, tenant="default", user_id="local", groups=[], admin=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        os.chmod(path, 0o600)
    base = f"http://{settings.api.host}:{settings.api.port}"
    typer.echo(f"API key (tenant default, admin): {key}")
    typer.echo(f"Docs: {base}/docs   Try:")
    typer.echo(
        f"  curl -s {base}/v1/chat -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
        """    -d '{"question": "How does Citewise keep deleted files out of search results?"}'"""
    )


@bench_app.command("query")
def bench_query(
    dataset: BeirArg,
    split: SplitOpt = "test",
    configs: Annotated[
        str, typer.Option(help="comma-separated MODE[:FUSION][+RERANKER], e.g. dense,sparse,hybrid:rrf+fusion")
    ] = "",
    limit: LimitOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Retrieval quality (ranx) and per-stage latency p50/p95 per configuration, in one run."""
    from evals.bench_query import DEFAULT_CONFIGS, run_query_benchmark

    chosen = tuple(c.strip() for c in configs.split(",") if c.strip()) or DEFAULT_CONFIGS
    try:
        result = run_query_benchmark(
            dataset, split=split, configs=chosen, limit=limit, log=lambda m: typer.echo(m, err=True)
        )
    except (CitewiseError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(result, indent=None if as_json else 2))


@bench_app.command("jobs")
def bench_jobs(
    corpus: Annotated[Path, typer.Argument(help="a JSONL corpus (e.g. SciFact corpus.jsonl)")],
    limit: Annotated[int | None, typer.Option(min=2, help="first N documents only")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ingestion throughput: in-process pool vs one Celery worker at concurrency 1 and 2, in one run."""
    from evals.bench_jobs import run_jobs_benchmark

    try:
        result = run_jobs_benchmark(corpus, limit=limit, log=lambda m: typer.echo(m, err=True))
    except (CitewiseError, RuntimeError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(result, indent=None if as_json else 2))


@bench_app.command("chat")
def bench_chat(
    dataset: Annotated[Path, typer.Argument(help="a BEIR folder; its queries are asked through /v1/chat")],
    split: Annotated[str, typer.Option(help="qrels split (selects the queries)")] = "test",
    limit: LimitOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """/v1/chat latency with the extractive provider, its overhead on retrieval, per-step times, server RSS."""
    from evals.bench_chat import run_chat_benchmark

    try:
        result = run_chat_benchmark(dataset, split=split, limit=limit, log=lambda m: typer.echo(m, err=True))
    except (CitewiseError, RuntimeError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(result, indent=None if as_json else 2))


def _job_store():  # noqa: ANN202
    from citewise.db import init_db
    from ingest.jobs import JobStore

    return JobStore(init_db(Settings().db_url))


def _parse_config(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--config {pair!r}: expected key=value")
        out[key.strip()] = value
    return out


@connectors_app.command("add")
def connectors_add(
    name: Annotated[str, typer.Argument(help="a name unique within the tenant")],
    type_: Annotated[str, typer.Option("--type", help="connector type, e.g. filesystem or jsonl")],
    config: Annotated[list[str] | None, typer.Option("--config", help="key=value, e.g. path=/srv/docs")] = None,
    tenant: Annotated[str, typer.Option()] = "default",
    acl: Annotated[list[str] | None, typer.Option(help="user:NAME or group:NAME; repeatable")] = None,
    interval: Annotated[int | None, typer.Option(min=60, help="sync every N seconds")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register a connector (synced with `connectors sync`, or on its interval by the scheduler)."""
    try:
        info = _job_store().add_connector(
            name, type_, _parse_config(config or []), tenant=tenant, acl=acl or [], interval_s=interval
        )
    except CitewiseError as exc:
        _fail(str(exc))
    typer.echo(info.model_dump_json() if as_json else f"added {info.name} ({info.type}, id {info.id})")


@connectors_app.command("list")
def connectors_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The registered connectors."""
    infos = _job_store().connectors()
    if as_json:
        typer.echo(json.dumps([i.model_dump() for i in infos]))
        return
    for i in infos:
        every = f", every {i.interval_s} s" if i.interval_s else ""
        typer.echo(f"{i.name}: {i.type} {json.dumps(i.config)} tenant {i.tenant}{every}")


@connectors_app.command("remove")
def connectors_remove(name: Annotated[str, typer.Argument(help="name or id")], tenant: TenantOpt = None) -> None:
    """Forget a connector and its jobs (its documents stay in the index until deleted)."""
    try:
        removed = _job_store().remove_connector(name, tenant)
    except CitewiseError as exc:
        _fail(str(exc))
    if not removed:
        _fail(f"no connector named {name!r}")
    typer.echo(f"removed {name}")


@connectors_app.command("sync")
def connectors_sync(
    name: Annotated[str, typer.Argument(help="name or id")],
    tenant: TenantOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="return when the job ends")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Start a sync job (in this process, or on the Celery workers with CITEWISE_JOBS__BACKEND=celery)."""
    import time

    from ingest.runners import InProcessRunner, make_runner, start_sync

    settings = Settings()
    store = _job_store()
    try:
        connector = store.connector(name, tenant)
    except CitewiseError as exc:
        _fail(str(exc))
    if connector is None:
        _fail(f"no connector named {name!r}")
    runner = make_runner(settings)
    try:
        job_id = start_sync(store, connector.id, runner)
        if isinstance(runner, InProcessRunner):
            runner.wait(job_id)  # the embedded pool lives in this process: it must finish before we exit
            runner.shutdown()
        elif wait:
            while store.job(job_id).status in ("queued", "running"):
                time.sleep(0.5)
    except CitewiseError as exc:
        _fail(str(exc))
    job = store.job(job_id)
    typer.echo(
        job.model_dump_json() if as_json else f"job {job.id}: {job.status}, {job.done} done, {job.failed} failed"
    )
    if job.status == "failed":
        raise typer.Exit(1)


@app.command()
def jobs(
    connector: Annotated[str | None, typer.Option(help="only this connector's jobs")] = None,
    tenant: TenantOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recent sync jobs with their progress and errors."""
    store = _job_store()
    cid = None
    if connector:
        try:
            found = store.connector(connector, tenant)
        except CitewiseError as exc:
            _fail(str(exc))
        if found is None:
            _fail(f"no connector named {connector!r}")
        cid = found.id
    rows = store.jobs(cid, tenant=tenant)
    if as_json:
        typer.echo(json.dumps([j.model_dump(mode="json") for j in rows]))
        return
    for j in rows:
        typer.echo(f"{j.id} {j.connector}: {j.status} {j.done}/{j.total} done, {j.failed} failed ({j.backend})")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="worker threads")] = 1,
    beat: Annotated[bool, typer.Option("--beat", help="also run the scheduler (Celery beat) in this process")] = False,
) -> None:
    """A Celery worker for sync jobs (broker: CITEWISE_JOBS__BROKER_URL)."""
    from ingest.worker import make_celery

    argv = ["worker", "--pool", "threads", "--concurrency", str(concurrency), "--loglevel", "INFO", "-Q", "citewise"]
    if beat:
        argv.append("--beat")
    make_celery(Settings()).worker_main(argv)


@eval_app.command("retrieval")
def eval_retrieval(
    dataset: BeirArg,
    split: SplitOpt = "test",
    configs: Annotated[
        str, typer.Option(help="comma-separated MODE[:FUSION][+RERANKER]")
    ] = "dense,sparse,hybrid,hybrid+fusion",
    limit: LimitOpt = None,
    out: Annotated[Path | None, typer.Option(help="write report.json, report.md, report.png and runs/ here")] = None,
    baseline: Annotated[Path | None, typer.Option(help="a report.json to compare with; exit 1 on a regression")] = None,
    tolerance: Annotated[float, typer.Option(min=0, help="allowed drop below the baseline per metric")] = 0.01,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """nDCG@10, Recall@10/100, MRR@10, MAP@100 and latency per configuration (ranx), on the real retriever."""
    from evals.retrieval_eval import compare_to_baseline, run_retrieval_eval

    chosen = tuple(c.strip() for c in configs.split(",") if c.strip())
    base = None
    if baseline is not None:
        try:
            base = json.loads(baseline.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            _fail(f"--baseline {baseline}: {exc}")
    try:
        report = run_retrieval_eval(
            dataset, split=split, configs=chosen, limit=limit, out_dir=out, log=lambda m: typer.echo(m, err=True)
        )
    except (CitewiseError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report))
    else:
        for name, row in report["configs"].items():
            typer.echo(f"{name:22s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
    if base is not None:
        failures = compare_to_baseline(report, base, tolerance)
        for failure in failures:
            typer.echo(f"regression: {failure}", err=True)
        if failures:
            raise typer.Exit(1)
        typer.echo(f"baseline {baseline}: no metric fell more than {tolerance}", err=True)


@eval_app.command("answers")
def eval_answers(
    qa_file: Annotated[Path, typer.Argument(help="JSONL: question, answers (list), optional doc_ids")],
    corpus: Annotated[
        Path | None, typer.Option(help="a corpus.jsonl to index first (else the configured index)")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="answering profile (default: settings)")] = None,
    out: Annotated[Path | None, typer.Option(help="write report.json, report.md and answers.jsonl here")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Exact match, token F1, refusals and citation validity/precision/recall through the answer pipeline."""
    from evals.answer_eval import run_answer_eval, write_answer_reports

    try:
        report, rows = run_answer_eval(qa_file, corpus=corpus, profile=provider, log=lambda m: typer.echo(m, err=True))
    except CitewiseError as exc:
        _fail(str(exc))
    if out is not None:
        write_answer_reports(report, rows, out)
    typer.echo(json.dumps(report) if as_json else "\n".join(f"{k}: {v}" for k, v in report.items()))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
