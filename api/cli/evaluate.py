"""`citewise eval`: retrieval and answer evaluation with reports and a regression gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from citewise.api.cli.common import BeirArg, JsonOpt, LimitOpt, SplitOpt, command_group, fail, log_to_stderr

app = command_group(help="Retrieval and answer evaluation with reports and a regression gate.")


@app.command("retrieval")
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
    as_json: JsonOpt = False,
) -> None:
    """nDCG@10, Recall@10/100, MRR@10, MAP@100 and latency per configuration (ranx), on the real retriever."""
    from citewise.evals.retrieval_eval import compare_to_baseline, run_retrieval_eval

    chosen = tuple(c.strip() for c in configs.split(",") if c.strip())
    base = None
    if baseline is not None:
        try:
            base = json.loads(baseline.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            fail(f"--baseline {baseline}: {exc}")
    report = run_retrieval_eval(dataset, split=split, configs=chosen, limit=limit, out_dir=out, log=log_to_stderr)
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


@app.command("answers")
def eval_answers(
    qa_file: Annotated[Path, typer.Argument(help="JSONL: question, answers (list), optional doc_ids")],
    corpus: Annotated[
        Path | None, typer.Option(help="a corpus.jsonl to index first (else the configured index)")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="answering profile (default: settings)")] = None,
    out: Annotated[Path | None, typer.Option(help="write report.json, report.md and answers.jsonl here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Exact match, token F1, refusals and citation validity/precision/recall through the answer pipeline."""
    from citewise.evals.answer_eval import run_answer_eval, write_answer_reports

    report, rows = run_answer_eval(qa_file, corpus=corpus, profile=provider, log=log_to_stderr)
    if out is not None:
        write_answer_reports(report, rows, out)
    typer.echo(json.dumps(report) if as_json else "\n".join(f"{k}: {v}" for k, v in report.items()))


@app.command("memory")
def eval_memory(
    dataset: BeirArg,
    conversations: Annotated[Path, typer.Option(help="JSONL: id, turns [{question, doc_id}]")],
    llm_model: Annotated[
        Path | None, typer.Option(help="a .gguf model for the LLM rewrite (needs the llamacpp extra)")
    ] = None,
    details: Annotated[bool, typer.Option("--details", help="print every follow-up's queries and results")] = False,
    as_json: JsonOpt = False,
) -> None:
    """How often a follow-up's search query finds the right document: as typed, heuristic and LLM rewrite."""
    from citewise.evals.memory_eval import run_memory_eval

    report = run_memory_eval(dataset, conversations, llm_model=llm_model, log=log_to_stderr)
    if not details:
        report.pop("details")
    typer.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@app.command("routing")
def eval_routing(
    path: Annotated[Path, typer.Argument(help="JSONL: question, route")],
    mistakes: Annotated[bool, typer.Option("--mistakes", help="list every misrouted question")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Routing accuracy per route and the latency the router adds (p50/p95)."""
    from citewise.evals.routing_eval import run_routing_eval

    report = run_routing_eval(path, log=log_to_stderr)
    if not mistakes:
        report.pop("mistakes")
    typer.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@app.command("multiquery")
def eval_multiquery(
    dataset: BeirArg,
    split: SplitOpt = "test",
    folds: Annotated[int, typer.Option(min=2, help="disjoint query subsets to show the spread of the gain")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Plain hybrid against hybrid with rule-based query variants fused in: nDCG@10 per fold and latency."""
    from citewise.evals.multiquery_eval import run_multiquery_eval

    report = run_multiquery_eval(dataset, split=split, folds=folds, log=log_to_stderr)
    typer.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))


@app.command("agent")
def eval_agent(
    questions: Annotated[Path, typer.Argument(help="JSONL: question, needs (list of lists of accepted strings), kind")],
    base_url: Annotated[
        str | None,
        typer.Option(help="an OpenAI-compatible server with function calling (else the extractive answerer)"),
    ] = None,
    model: Annotated[str | None, typer.Option(help="model name sent to the server")] = None,
    details: Annotated[bool, typer.Option("--details", help="print every answer")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer accuracy of the plain pipeline and the agent on multi-step questions (tests/fixtures/multistep)."""
    from citewise.evals.agent_eval import run_agent_eval

    report = run_agent_eval(questions, base_url=base_url, model=model, log=log_to_stderr)
    if not details:
        report.pop("details")
    typer.echo(json.dumps(report) if as_json else json.dumps(report, indent=2))
