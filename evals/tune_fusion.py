"""Fit the fusion reranker's alpha on a BEIR dataset with 2-fold cross-validation, and report held-out gains.

    python -m citewise.evals.tune_fusion ../shared/evaldata/scifact-dev --split train

Candidates come from the real retriever (hybrid, no rerank, branch scores filled in); each alpha is then
applied offline. Each fold picks alpha on one half of the queries and is scored on the other half, so the
reported gain over plain hybrid is not measured on the queries that chose it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from citewise.models import Principal
from citewise.settings import Settings

ALPHAS = [round(0.1 * i, 1) for i in range(11)]


def _doc_run(hits: list, key: str) -> dict[str, float]:
    run: dict[str, float] = {}
    for h in hits:
        run[h["key"]] = max(run.get(h["key"], float("-inf")), h[key])
    return run


def main(argv: list[str] | None = None) -> int:
    from ranx import Qrels, Run, evaluate

    from citewise.evals.retrieval_eval import prepare_dataset
    from citewise.retrieval.rerank.fusion import FusionReranker
    from citewise.retrieval.retriever import RetrievalRequest, Retriever
    from citewise.retrieval.stores import ScoredPoint

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--fusion", default="dbsf", choices=["rrf", "dbsf"])
    args = ap.parse_args(argv)

    settings = Settings()
    data, collection, _ = prepare_dataset(args.dataset, args.split, settings, lambda m: print(m, file=sys.stderr))
    retriever = Retriever(settings, collection=collection)
    cands: dict[str, list[dict]] = {}
    try:
        for q, text in sorted(data.queries.items()):
            req = RetrievalRequest(query=text, principal=Principal(), k=100, max_per_doc=100, reranker="none")
            hits = retriever.run(req.model_copy(update={"fusion": args.fusion})).hits
            cands[q] = [{"key": h.key, **h.scores} for h in hits]
    finally:
        retriever.close()

    def ndcg(qids: list[str], alpha: float | None) -> float:
        run = {}
        for q in qids:
            if alpha is None:
                run[q] = _doc_run(cands[q], "fused")
                continue
            pts = [ScoredPoint(str(i), 0.0, {}, dict(c)) for i, c in enumerate(cands[q])]
            ranked = FusionReranker(alpha).run("", pts)
            run[q] = _doc_run([{"key": cands[q][int(p.id)]["key"], "s": p.score} for p in ranked], "s")
        return float(evaluate(Qrels({q: data.qrels[q] for q in qids}), Run(run), "ndcg@10", make_comparable=True))

    qids = sorted(cands)
    folds = [qids[0::2], qids[1::2]]
    report: dict = {"dataset": data.name, "fusion": args.fusion, "folds": []}
    for i, (fit, held) in enumerate([(folds[0], folds[1]), (folds[1], folds[0])]):
        best = max(ALPHAS, key=lambda a: ndcg(fit, a))
        report["folds"].append(
            {
                "fold": i,
                "alpha": best,
                "heldout_ndcg@10": round(ndcg(held, best), 4),
                "heldout_hybrid": round(ndcg(held, None), 4),
            }
        )
    report["all_queries"] = {str(a): round(ndcg(qids, a), 4) for a in ALPHAS} | {"hybrid": round(ndcg(qids, None), 4)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
