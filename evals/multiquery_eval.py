"""Does multi-query retrieval help? Plain hybrid against hybrid with rule-based query variants fused in.

    citewise eval multiquery ../shared/evaldata/scifact-dev [--folds 5]

Nothing is fitted, so the folds are not for choosing a value: they show how the gain spreads over disjoint
query subsets. The rule for the default: turn it on only if it wins nDCG@10 in every fold.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from citewise.evals.common import p50_p95
from citewise.settings import Settings

ARMS = {"hybrid": {"multi_query": "off"}, "hybrid+rules": {"multi_query": "rules"}}


def _per_query(qrels: dict, run: dict, metric: str = "ndcg@10") -> dict[str, float]:
    import warnings

    from ranx import Qrels, Run, evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = evaluate(Qrels(qrels), Run(run), metric, return_mean=False, make_comparable=True)
    return dict(zip(sorted(run), (float(v) for v in values), strict=True))


def run_multiquery_eval(
    dataset_dir: Path,
    *,
    split: str = "test",
    folds: int = 5,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    from citewise.evals.retrieval_eval import doc_run, prepare_dataset, score_run
    from citewise.retrieval.query_variants import rule_variants
    from citewise.retrieval.retriever import Retriever

    settings = settings or Settings()
    data, collection, _ = prepare_dataset(dataset_dir, split, settings, log)
    qids = sorted(q for q in data.queries if q in data.qrels)
    qrels = {q: data.qrels[q] for q in qids}
    retriever = Retriever(settings, collection=collection)
    report: dict = {"dataset": data.name, "queries": len(qids), "arms": {}}
    per_query: dict[str, dict[str, float]] = {}
    try:
        doc_run(retriever, data, qids[:1], {})  # warm-up
        for arm, cfg in ARMS.items():
            t0 = time.perf_counter()
            run, latency = doc_run(retriever, data, qids, cfg)
            row = score_run(qrels, run)
            spread = p50_p95(latency)
            row["latency_ms_p50"], row["latency_ms_p95"] = spread["p50"], spread["p95"]
            report["arms"][arm] = row
            per_query[arm] = _per_query(qrels, run)
            log(
                f"{arm:14s} nDCG@10 {row['ndcg@10']:.4f}  p95 {row['latency_ms_p95']} ms  "
                f"({time.perf_counter() - t0:.0f} s)"
            )
    finally:
        retriever.close()
    report["queries_with_variants"] = sum(1 for q in qids if rule_variants(data.queries[q]))
    shuffled = qids[:]
    random.Random(13).shuffle(shuffled)
    deltas = []
    for f in range(folds):
        part = shuffled[f::folds]
        deltas.append(round(statistics.fmean(per_query["hybrid+rules"][q] - per_query["hybrid"][q] for q in part), 4))
    report["fold_deltas_ndcg@10"] = deltas
    report["delta_mean"], report["delta_sd"] = round(statistics.fmean(deltas), 4), round(statistics.pstdev(deltas), 4)
    report["default"] = "rules" if all(d > 0 for d in deltas) else "off"
    log(f"delta per fold {deltas}: mean {report['delta_mean']:+.4f} sd {report['delta_sd']:.4f} -> {report['default']}")
    return report
