"""`citewise bench`: benchmarks that print measured figures (medians and ratios from one run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citewise.api.cli.common import (
    BeirArg,
    ConfigsOpt,
    JsonOpt,
    LimitOpt,
    SplitOpt,
    command_group,
    log_to_stderr,
    print_result,
)

app = command_group(help="Benchmarks that print measured figures.")


@app.command("ingest")
def bench_ingest(
    path: Annotated[Path, typer.Argument(help="a BEIR corpus.jsonl or a folder")],
    torch_sample: Annotated[int, typer.Option(help="chunks embedded with torch for the speed ratio (0 = all)")] = 0,
    repeats: Annotated[int, typer.Option(min=1, help="repeat every measurement; ratios are medians")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Ingestion throughput, pure embedding time (fast path vs torch) and peak RSS, in one process."""
    from citewise.evals.bench_ingest import run_ingest_benchmark

    result = run_ingest_benchmark(path, torch_sample=torch_sample, repeats=repeats, log=log_to_stderr)
    print_result(result, as_json)


@app.command("encoders")
def bench_encoders(
    path: Annotated[Path, typer.Argument(help="a BEIR corpus.jsonl or a folder")],
    encoders: Annotated[
        str, typer.Option(help="comma-separated encoder names; the last is the baseline")
    ] = "e5,openvino",
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    as_json: JsonOpt = False,
) -> None:
    """First-ingest time, docs/s and query-embedding latency per encoder, alternating in one process (medians)."""
    from citewise.evals.bench_ingest import run_encoder_benchmark

    names = [n.strip() for n in encoders.split(",") if n.strip()]
    print_result(run_encoder_benchmark(path, names, repeats=repeats, log=log_to_stderr), as_json)


@app.command("legacy")
def bench_legacy(
    folder: Annotated[Path, typer.Argument(help="a folder with .doc, .ppt and .xls files")],
    as_json: JsonOpt = False,
) -> None:
    """Legacy Office files through each converter: how many each reads and its median time per file."""
    from citewise.evals.bench_legacy import run_legacy_benchmark

    print_result(run_legacy_benchmark(folder, log=log_to_stderr), as_json)


@app.command("pdf-tables")
def bench_pdf_tables(
    folder: Annotated[Path, typer.Argument(help="a folder with PDFs (searched recursively)")],
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    as_json: JsonOpt = False,
) -> None:
    """PDFs with and without the table search: grid pages, tables kept, seconds, words lost or added."""
    from citewise.evals.bench_pdf_tables import run_pdf_tables_benchmark

    print_result(run_pdf_tables_benchmark(folder, repeats=repeats, log=log_to_stderr), as_json)


@app.command("pictures")
def bench_pictures(
    folder: Annotated[Path, typer.Argument(help="a folder with Office files (searched recursively)")],
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Office files with and without reading their pictures: seconds each way, files that gained text."""
    from citewise.evals.bench_pictures import run_pictures_benchmark

    print_result(run_pictures_benchmark(folder, repeats=repeats, log=log_to_stderr), as_json)


@app.command("query")
def bench_query(
    dataset: BeirArg,
    split: SplitOpt = "test",
    configs: ConfigsOpt = "",
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retrieval quality (ranx) and per-stage latency p50/p95 per configuration, in one run."""
    from citewise.evals.bench_query import DEFAULT_CONFIGS, run_query_benchmark

    chosen = tuple(c.strip() for c in configs.split(",") if c.strip()) or DEFAULT_CONFIGS
    result = run_query_benchmark(dataset, split=split, configs=chosen, limit=limit, log=log_to_stderr)
    print_result(result, as_json)


@app.command("jobs")
def bench_jobs(
    corpus: Annotated[Path, typer.Argument(help="a JSONL corpus (e.g. SciFact corpus.jsonl)")],
    limit: Annotated[int | None, typer.Option(min=2, help="first N documents only")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingestion throughput: in-process pool vs one Celery worker at concurrency 1 and 2, in one run."""
    from citewise.evals.bench_jobs import run_jobs_benchmark

    result = run_jobs_benchmark(corpus, limit=limit, log=log_to_stderr)
    print_result(result, as_json)


@app.command("chat")
def bench_chat(
    dataset: Annotated[Path, typer.Argument(help="a BEIR folder; its queries are asked through /v1/chat")],
    split: Annotated[str, typer.Option(help="qrels split (selects the queries)")] = "test",
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """/v1/chat latency with the extractive provider, its overhead on retrieval, per-step times, server RSS."""
    from citewise.evals.bench_chat import run_chat_benchmark

    result = run_chat_benchmark(dataset, split=split, limit=limit, log=log_to_stderr)
    print_result(result, as_json)


@app.command("parse")
def bench_parse(
    path: Annotated[Path, typer.Argument(help="a folder of files")],
    repeats: Annotated[int, typer.Option(min=1, help="alternating in-process / sandbox runs; figures are medians")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """What the parser sandbox costs: the same files parsed in-process and in the sandbox, in one run."""
    from citewise.evals.bench_parse import run_parse_benchmark

    result = run_parse_benchmark(path, repeats=repeats, log=log_to_stderr)
    print_result(result, as_json)


@app.command("gateway")
def bench_gateway(
    calls: Annotated[int, typer.Option(min=10, help="calls per overhead measurement")] = 300,
    cache_calls: Annotated[int, typer.Option(min=3, help="questions for the cache hit/miss comparison")] = 30,
    token_ms: Annotated[float, typer.Option(min=0, help="the canned model's time per token (cache comparison)")] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """The LLM gateway's own overhead per call, failover time, and answer-cache hit vs miss latency."""
    from citewise.evals.bench_gateway import run_gateway_benchmark

    result = run_gateway_benchmark(calls=calls, cache_calls=cache_calls, token_ms=token_ms, log=log_to_stderr)
    print_result(result, as_json)


@app.command("permissions")
def bench_permissions(
    items: Annotated[int, typer.Option(min=10, help="items whose ACLs change")] = 10_000,
    as_json: JsonOpt = False,
) -> None:
    """Permission sync: every item's ACL changes at the source; one sync applies it with zero embeddings."""
    from citewise.evals.bench_permissions import run_permissions_benchmark

    print_result(run_permissions_benchmark(items, log=log_to_stderr), as_json)
