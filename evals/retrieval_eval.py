"""`citewise eval retrieval`: BEIR metrics per retrieval configuration, with reports and a regression gate.

The corpus goes into a collection named for the dataset and the encoding settings (model, chunking, BM25),
so a re-run reuses it (an incremental sync: unchanged documents cost nothing) and changed settings build a
new one. Every query runs through the real Retriever; metrics come from ranx on document-level runs (the
best chunk of each document, k=100, qrels are per document).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from citewise.errors import InvalidInputError
from citewise.evals.beir import BeirDataset, load_beir
from citewise.evals.common import pct
from citewise.models import Principal
from citewise.settings import Settings

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100")
DEFAULT_CONFIGS = ("dense", "sparse", "hybrid", "hybrid+fusion")


def parse_config(config: str) -> dict:
    """`MODE[:FUSION][+RERANKER]`, e.g. `dense`, `hybrid:rrf`, `hybrid+fusion`."""
    base, _, reranker = config.partition("+")
    mode, _, fusion = base.partition(":")
    if mode not in ("dense", "sparse", "hybrid"):
        raise InvalidInputError(f"config {config!r}: mode must be dense, sparse or hybrid")
    if fusion and fusion not in ("rrf", "dbsf"):
        raise InvalidInputError(f"config {config!r}: fusion must be rrf or dbsf")
    return {"mode": mode, "fusion": fusion or None, "reranker": reranker or "none"}


def collection_for(data: BeirDataset, settings: Settings) -> str:
    from citewise.ingest.pipeline import PIPELINE_VERSION
    from citewise.retrieval.encoders.dense import load_dense_encoder

    model_id = load_dense_encoder(settings.embedding).model_id  # cheap: names the model, loads nothing
    config = [PIPELINE_VERSION, model_id, settings.chunking.model_dump(), settings.sparse.model_dump()]
    fp = json.dumps(config, sort_keys=True)
    return f"beir-{data.name}-{hashlib.sha256(fp.encode()).hexdigest()[:8]}"


def index_dataset(settings: Settings, corpus: Path, collection: str, log: Callable[[str], None]) -> float:
    """Ingest (or incrementally re-sync) the corpus; returns seconds."""
    from citewise.connectors import create_connector
    from citewise.ingest.pipeline import Ingestor

    t0 = time.perf_counter()
    ingestor = Ingestor(settings, collection=collection)
    try:
        report = ingestor.sync(create_connector("jsonl", path=corpus))
    finally:
        ingestor.close()
    log(f"index {collection}: {report.added} added, {report.unchanged} unchanged, {report.chunks} chunks")
    return time.perf_counter() - t0


def prepare_dataset(
    dataset_dir: Path, split: str, settings: Settings, log: Callable[[str], None]
) -> tuple[BeirDataset, str, float]:
    """Load a BEIR folder and bring its collection up to date: (dataset, collection, seconds spent indexing)."""
    data = load_beir(dataset_dir, split)
    collection = collection_for(data, settings)
    return data, collection, index_dataset(settings, data.corpus, collection, log)


def doc_run(retriever, data: BeirDataset, qids: list[str], cfg: dict) -> tuple[dict, list[float]]:  # noqa: ANN001
    """{qid: {doc key: score}} at k=100, one chunk per document, and each query's latency in ms."""
    from citewise.retrieval.retriever import RetrievalRequest

    run: dict[str, dict[str, float]] = {}
    latency = []
    for q in qids:
        t0 = time.perf_counter()
        hits = retriever.run(
            RetrievalRequest(query=data.queries[q], principal=Principal(), k=100, max_per_doc=1, **cfg)
        ).hits
        latency.append((time.perf_counter() - t0) * 1000)
        n = len(hits)
        run[q] = {h.key: float(n - i) for i, h in enumerate(hits)}  # rank order; scores differ per stage
    return run, latency


def score_run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    import warnings

    from ranx import Qrels, Run, evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 -> int64 cast notice inside ranx
        values = evaluate(Qrels(qrels), Run(run), list(METRICS), make_comparable=True)
    return {m: round(float(values[m]), 4) for m in METRICS}


def run_retrieval_eval(
    dataset_dir: Path,
    *,
    split: str = "test",
    configs: tuple[str, ...] = DEFAULT_CONFIGS,
    settings: Settings | None = None,
    limit: int | None = None,
    out_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    from citewise.retrieval.retriever import Retriever

    settings = settings or Settings()
    parsed = {c: parse_config(c) for c in configs}
    t0 = time.perf_counter()
    data, collection, index_s = prepare_dataset(dataset_dir, split, settings, log)
    qids = sorted(data.queries)[:limit] if limit else sorted(data.queries)
    qrels = {q: data.qrels[q] for q in qids}
    report: dict = {"dataset": data.name, "split": split, "queries": len(qids), "configs": {}}
    runs: dict[str, dict] = {}
    retriever = Retriever(settings, collection=collection)
    try:
        doc_run(retriever, data, qids[:1], {})  # warm-up: loads the models and opens the index outside the timings
        for name, cfg in parsed.items():
            run, latency = doc_run(retriever, data, qids, cfg)
            runs[name] = run
            row = score_run(qrels, run)
            row["latency_ms_p50"], row["latency_ms_p95"] = pct(latency, 50), pct(latency, 95)
            report["configs"][name] = row
            log(f"{name:22s} " + "  ".join(f"{m} {row[m]:.4f}" for m in METRICS) + f"  p95 {row['latency_ms_p95']} ms")
    finally:
        retriever.close()
    log(f"index {index_s:.1f} s, total {time.perf_counter() - t0:.1f} s")
    if out_dir is not None:
        write_reports(report, runs, Path(out_dir))
    return report


def write_reports(report: dict, runs: dict[str, dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    cols = [*METRICS, "latency_ms_p50", "latency_ms_p95"]
    lines = [
        f"# Retrieval eval: {report['dataset']} ({report['split']}, {report['queries']} queries)",
        "",
        "| config | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name, row in report["configs"].items():
        lines.append(
            f"| {name} | " + " | ".join(f"{row[c]:.4f}" if c in METRICS else f"{row[c]:.1f}" for c in cols) + " |"
        )
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "runs").mkdir(exist_ok=True)
    for name, run in runs.items():
        rows = ["query-id\tcorpus-id\trank\tscore"]
        for q, docs in run.items():
            ranked = sorted(docs.items(), key=lambda kv: kv[1], reverse=True)
            rows += [f"{q}\t{d}\t{i}\t{s:g}" for i, (d, s) in enumerate(ranked, 1)]
        (out / "runs" / f"{safe_name(name)}.tsv").write_text("\n".join(rows) + "\n")
    plot(report, out / "report.png")


def safe_name(config: str) -> str:
    return config.replace(":", "-").replace("/", "-")


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["configs"])
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 4.2), sharey=True)
    colors = plt.cm.tab10(np.arange(len(names)) % 10)
    for ax, metric in zip(axes, METRICS, strict=True):
        values = [report["configs"][n][metric] for n in names]
        bars = ax.bar(range(len(names)), values, color=colors)
        ax.set_title(metric)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
        for bar, v in zip(bars, values, strict=True):
            ax.text(bar.get_x() + bar.get_width() / 2, v + 0.01, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    fig.suptitle(f"{report['dataset']} ({report['split']}, {report['queries']} queries)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def compare_to_baseline(report: dict, baseline: dict, tolerance: float) -> list[str]:
    """Messages for every metric of every shared config that fell more than `tolerance` below the baseline."""
    failures = []
    for name, base_row in baseline.get("configs", {}).items():
        row = report["configs"].get(name)
        if row is None:
            continue
        for metric in METRICS:
            if metric in base_row and row[metric] < base_row[metric] - tolerance:
                failures.append(
                    f"{name}: {metric} {row[metric]:.4f} < baseline {base_row[metric]:.4f} - tolerance {tolerance}"
                )
    return failures
