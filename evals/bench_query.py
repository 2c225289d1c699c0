"""Query benchmark on a BEIR dataset: quality (nDCG@10, Recall@100, MRR@10 with ranx) and latency per config.

A config is `MODE[:FUSION][+RERANKER]`, e.g. `dense`, `sparse`, `hybrid:rrf`, `hybrid+fusion`.
Quality runs each query at k=100 with one chunk per document (qrels are per document); latency runs the
default request (k=10) single client, after a warm-up, and reports p50/p95 of the whole search and of
each stage, plus the query embedding alone measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from citewise.evals.common import p50_p95, pct
from citewise.models import Principal
from citewise.settings import Settings

DEFAULT_CONFIGS = ("dense", "sparse", "hybrid:rrf", "hybrid:dbsf", "hybrid:rrf+fusion", "hybrid:dbsf+fusion")


def run_query_benchmark(
    dataset_dir: Path,
    *,
    split: str = "test",
    configs: tuple[str, ...] = DEFAULT_CONFIGS,
    limit: int | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    from citewise.evals.retrieval_eval import doc_run, parse_config, prepare_dataset, score_run
    from citewise.retrieval.retriever import RetrievalRequest, Retriever

    settings = settings or Settings()
    parsed = {c: parse_config(c) for c in configs}
    data, collection, index_s = prepare_dataset(dataset_dir, split, settings, log)
    qids = sorted(data.queries)[:limit] if limit else sorted(data.queries)

    retriever = Retriever(settings, collection=collection)
    principal = Principal()
    out: dict = {"dataset": data.name, "split": split, "queries": len(qids), "index_seconds": round(index_s, 1)}
    try:
        encoder = retriever.encoder
        for _ in range(5):  # warm-up: sessions, page cache
            retriever.run(RetrievalRequest(query=data.queries[qids[0]], principal=principal))
        embed_ms = []
        for q in qids:
            t0 = time.perf_counter()
            encoder.embed_query(data.queries[q])
            embed_ms.append((time.perf_counter() - t0) * 1000)
        out["query_embedding_ms"] = p50_p95(embed_ms)
        qrels = {q: data.qrels[q] for q in qids}
        out["configs"] = {}
        for name, cfg in parsed.items():
            metrics = score_run(qrels, doc_run(retriever, data, qids, cfg)[0])
            stages: dict[str, list[float]] = {}
            for q in qids:
                result = retriever.run(RetrievalRequest(query=data.queries[q], principal=principal, **cfg))
                for stage, ms in result.timings_ms.items():
                    stages.setdefault(stage, []).append(ms)
            row = dict(metrics)
            row |= {"latency_ms_p50": pct(stages["total"], 50), "latency_ms_p95": pct(stages["total"], 95)}
            row["stages_ms_p50"] = {s: pct(v, 50) for s, v in stages.items() if s != "total"}
            row["stages_ms_p95"] = {s: pct(v, 95) for s, v in stages.items() if s != "total"}
            out["configs"][name] = row
            log(
                f"{name:22s} nDCG@10 {row['ndcg@10']:.4f}  R@100 {row['recall@100']:.4f}  MRR@10 {row['mrr@10']:.4f}"
                f"  p50 {row['latency_ms_p50']:.1f} ms  p95 {row['latency_ms_p95']:.1f} ms"
            )
    finally:
        retriever.close()
    out["median_ms_all_configs"] = statistics.median(r["latency_ms_p50"] for r in out["configs"].values())
    return out
