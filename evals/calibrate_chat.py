"""Calibrate the chat thresholds on a BEIR dataset (defaults in citewise/settings.py came from scifact-dev).

    python -m citewise.evals.calibrate_chat ../shared/evaldata/scifact-dev --split train

- evidence_threshold (refuse below it): the best dense cosine among the retrieved sources, for each query
  as is (answerable: its relevant documents are in the index) and with its relevant documents filtered
  out (a stand-in for an unanswerable question on the same topic). The threshold keeps >= 95% of
  answerable questions answered; the refusal rate on the stand-ins is reported next to it.
- support_threshold (flag a cited sentence as unsupported below it): the share of a claim's content terms
  found in a relevant passage (supported) vs in the best-ranked non-relevant passage (not supported);
  the threshold maximises balanced accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from citewise.models import Principal
from citewise.settings import Settings


def _balanced_best(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    best = (0.0, 0.0)
    for t in np.unique(np.concatenate([pos, neg])):
        acc = ((pos >= t).mean() + (neg < t).mean()) / 2
        if acc > best[1]:
            best = (float(t), float(acc))
    return best


def main(argv: list[str] | None = None) -> int:
    from citewise.api.orchestration.text import support
    from citewise.evals.retrieval_eval import prepare_dataset
    from citewise.retrieval.retriever import RetrievalRequest, Retriever, SearchFilters

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--sources", type=int, default=5)
    args = ap.parse_args(argv)

    settings = Settings()
    data, collection, _ = prepare_dataset(args.dataset, args.split, settings, lambda m: print(m, file=sys.stderr))
    retriever = Retriever(settings, collection=collection)
    answerable, stand_in, supported, unsupported = [], [], [], []
    try:
        for q, text in sorted(data.queries.items()):
            gold = sorted(data.qrels[q])
            hits = retriever.run(RetrievalRequest(query=text, principal=Principal(), k=args.sources)).hits
            answerable.append(max((h.scores.get("dense", 0.0) for h in hits), default=0.0))
            for h in hits:
                (supported if h.key in gold else unsupported).append(support(text, h.text))
            without = retriever.run(
                RetrievalRequest(
                    query=text, principal=Principal(), k=args.sources, filters=SearchFilters(exclude={"key": gold})
                )
            ).hits
            stand_in.append(max((h.scores.get("dense", 0.0) for h in without), default=0.0))
    finally:
        retriever.close()
    ans, neg = np.array(answerable), np.array(stand_in)
    evidence = float(np.percentile(ans, 5))
    sup_t, sup_acc = _balanced_best(np.array(supported), np.array(unsupported))
    report = {
        "dataset": data.name,
        "queries": len(ans),
        "evidence_threshold": round(evidence, 3),
        "answerable_answered": round(float((ans >= evidence).mean()), 3),
        "stand_in_refused": round(float((neg < evidence).mean()), 3),
        "evidence_balanced_best": [round(x, 3) for x in _balanced_best(ans, neg)],
        "support_threshold": round(sup_t, 3),
        "support_balanced_accuracy": round(sup_acc, 3),
        "supported_pairs": len(supported),
        "unsupported_pairs": len(unsupported),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
