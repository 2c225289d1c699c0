"""Fit and check the answerability decision (api/orchestration/answerability.py) on four dev sets:

    python -m citewise.evals.calibrate_answerability [--scifact ../shared/evaldata/scifact-dev]

- **scifact** (if given, split train): each claim as is (answerable: its documents are indexed) and with its
  relevant documents filtered out of the search (unanswerable, same topic);
- **company-policies** (tests/fixtures): 65 answerable questions and 40 on the same topics it does not answer;
  off-topic ones too (the general set's answerable questions, asked of this corpus; likewise for the others);
- **general** (tests/fixtures/answerability): 36 general-knowledge passages, one answerable and one
  unanswerable question on the topic of each;
- **sample** (sample_corpus/, what `make run` ingests): 16 and 16, including "How are crashes handled during
  ingest?" and "What happens when a file changes?", which the old threshold refused;
- with `--languages`, **xquad-de-en** and **korquad-ko** (evals/data/, the first LANGUAGE_QUESTIONS questions
  of each): a German question on the English paragraphs and a Korean one on Korean paragraphs, as is and with
  its paragraph filtered out, like scifact; and FOREIGN_OFF_TOPIC of each set's questions asked of the three
  English corpora (off-topic). Term coverage is zero across languages, so the questions whose best passage
  is in another language get a decision of their own (`cross_lingual`, fitted and reported apart; this is
  how `answerability_models.e5` was made).

A logistic regression over the signals, each dataset weighted equally, is cross-validated (5 stratified
folds): the threshold is chosen on the training folds as the highest one that keeps false refusals at or
under the target in every dataset, and the report gives out-of-fold false and correct refusal rates per
dataset, beside the old rule (best dense cosine < 0.43), and the spread across folds. The final model is
fitted on everything; its weights are printed for `chat.answerability_model`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from citewise.models import Principal
from citewise.settings import Settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
OLD_THRESHOLD = 0.43
LANGUAGE_SETS = ("xquad-de-en", "korquad-ko")
LANGUAGE_QUESTIONS = 150
FOREIGN_OFF_TOPIC = 40  # of each language set's questions, asked of the English corpora


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _features(retriever, question: str, k: int, exclude_keys: list[str] | None = None) -> tuple[dict, bool]:  # noqa: ANN001
    """The signals, and whether the question crosses languages (as the chat pipeline decides it)."""
    from citewise.api.orchestration.answerability import crosses_languages, signals
    from citewise.retrieval.retriever import RetrievalRequest, SearchFilters

    filters = SearchFilters(exclude={"key": exclude_keys}) if exclude_keys else SearchFilters()
    hits = retriever.run(RetrievalRequest(query=question, principal=Principal(), k=k, filters=filters)).hits
    return signals(question, hits), crosses_languages(retriever.sparse.query_language(question), hits)


def collect(
    settings: Settings, scifact: Path | None, log: Callable[[str], None], *, languages: bool = False
) -> list[dict]:
    """One row per question: dataset, answerable, features (the real retriever, default settings)."""
    from citewise.connectors.filesystem import FilesystemConnector
    from citewise.evals.retrieval_eval import index_dataset, prepare_dataset
    from citewise.ingest.pipeline import Ingestor
    from citewise.retrieval.retriever import Retriever

    k = settings.chat.sources
    rows: list[dict] = []

    def add(dataset: str, retriever, items: list[tuple[str, bool, list[str] | None]], kind: str = "") -> None:  # noqa: ANN001
        for question, answerable, exclude in items:
            features, crossing = _features(retriever, question, k, exclude)
            rows.append(
                {
                    "dataset": dataset,
                    "question": question,
                    "answerable": answerable,
                    "kind": "answerable" if answerable else (kind or "same_topic"),
                    "features": features,
                    "cross_lingual": crossing,
                }
            )
        log(f"{dataset}: {len(items)} questions{f' ({kind})' if kind else ''}")

    general = _read_jsonl(FIXTURES / "answerability" / "general-questions.jsonl")
    company = _read_jsonl(FIXTURES / "company-policies" / "answerability.jsonl")
    # Off-topic: another dev set's answerable questions, asked of a corpus that has nothing on them.
    general_asked = [(r["question"], False, None) for r in general if r["answerable"]]
    company_asked = [(r["question"], False, None) for r in company if r["answerable"]]
    foreign_asked = []  # German and Korean questions asked of the English corpora: cross-lingual, off-topic
    for name in LANGUAGE_SETS if languages else ():
        queries = _read_jsonl(REPO / "evals" / "data" / name / "queries.jsonl")[:FOREIGN_OFF_TOPIC]
        foreign_asked += [(q["text"], False, None) for q in queries]

    def with_and_without_gold(name: str, folder: Path, split: str, limit: int | None = None) -> None:
        """Each question as is (answerable) and with its relevant documents filtered out (same topic)."""
        data, collection, _ = prepare_dataset(folder, split, settings, log)
        retriever = Retriever(settings, collection=collection)
        items = []
        for q, text in sorted(data.queries.items())[:limit]:
            gold = sorted(data.qrels[q])
            items += [(text, True, None), (text, False, gold)]
        add(name, retriever, items)
        retriever.close()

    if scifact is not None:
        with_and_without_gold("scifact", scifact, "train")
    for name in LANGUAGE_SETS if languages else ():
        with_and_without_gold(name, REPO / "evals" / "data" / name, "test", LANGUAGE_QUESTIONS)
    cp = FIXTURES / "company-policies"
    data, collection, _ = prepare_dataset(cp, "test", settings, log)
    retriever = Retriever(settings, collection=collection)
    add("company-policies", retriever, [(r["question"], r["answerable"], None) for r in company])
    add("company-policies", retriever, general_asked + foreign_asked, "off_topic")
    retriever.close()
    index_dataset(settings, FIXTURES / "answerability" / "general-corpus.jsonl", "calib-general", log)
    retriever = Retriever(settings, collection="calib-general")
    add("general", retriever, [(r["question"], r["answerable"], None) for r in general])
    add("general", retriever, company_asked + foreign_asked, "off_topic")
    retriever.close()
    ingestor = Ingestor(settings, collection="calib-sample")
    ingestor.sync(FilesystemConnector(path=REPO / "sample_corpus"))
    ingestor.close()
    retriever = Retriever(settings, collection="calib-sample")
    sample = _read_jsonl(FIXTURES / "answerability" / "sample-questions.jsonl")
    add("sample", retriever, [(r["question"], r["answerable"], None) for r in sample])
    add("sample", retriever, general_asked + foreign_asked, "off_topic")
    retriever.close()
    return rows


def _matrix(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from citewise.api.orchestration.answerability import FEATURES

    x = np.array([[r["features"][f] for f in FEATURES] for r in rows])
    y = np.array([r["answerable"] for r in rows], dtype=int)
    names = np.array([r["dataset"] for r in rows])
    return x, y, names


def _fit(x: np.ndarray, y: np.ndarray, names: np.ndarray, c: float):  # noqa: ANN202
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    weight = np.array([1.0 / (names == n).sum() for n in names])  # every dataset counts the same
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    model.fit(x, y, logisticregression__sample_weight=weight * len(y) / weight.sum())
    return model


def _threshold(scores: np.ndarray, y: np.ndarray, names: np.ndarray, target: float) -> float:
    """The highest threshold that keeps false refusals <= target in every dataset."""
    limits = []
    for name in np.unique(names):
        answerable = np.sort(scores[(names == name) & (y == 1)])
        if len(answerable):
            allowed = int(np.floor(target * len(answerable)))  # this many may fall below the threshold
            limits.append(answerable[allowed] if allowed < len(answerable) else answerable[-1])
    return float(min(limits))


def _rates(refuse: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {
        "false_refusals": round(float(refuse[y == 1].mean()), 4) if (y == 1).any() else 0.0,
        "correct_refusals": round(float(refuse[y == 0].mean()), 4) if (y == 0).any() else 0.0,
    }


def calibrate(rows: list[dict], *, target: float = 0.03, c: float = 1.0, folds: int = 5, seed: int = 0) -> dict:
    from sklearn.model_selection import StratifiedKFold

    from citewise.api.orchestration.answerability import FEATURES

    x, y, names = _matrix(rows)
    strata = np.array([f"{n}:{v}" for n, v in zip(names, y, strict=True)])
    oof_refuse = np.zeros(len(y), dtype=bool)
    fold_rows = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, strata):
        model = _fit(x[train], y[train], names[train], c)
        t = _threshold(model.predict_proba(x[train])[:, 1], y[train], names[train], target)
        refuse = model.predict_proba(x[test])[:, 1] < t
        oof_refuse[test] = refuse
        fold_rows.append({n: _rates(refuse[names[test] == n], y[test][names[test] == n]) for n in np.unique(names)})
    kinds = np.array([r.get("kind", "") for r in rows])
    old_refuse = x[:, FEATURES.index("dense1")] < OLD_THRESHOLD
    report: dict = {"target_false_refusals": target, "folds": folds, "datasets": {}}
    for name in np.unique(names):
        m = names == name
        per_fold = [f[name] for f in fold_rows]
        report["datasets"][str(name)] = {
            "answerable": int((y[m] == 1).sum()),
            "unanswerable": int((y[m] == 0).sum()),
            "old_threshold": _rates(old_refuse[m], y[m]),
            "calibrated_out_of_fold": _rates(oof_refuse[m], y[m]),
            "correct_refusals_by_kind": {
                str(kind): {
                    "old_threshold": round(float(old_refuse[m & (kinds == kind)].mean()), 4),
                    "calibrated_out_of_fold": round(float(oof_refuse[m & (kinds == kind)].mean()), 4),
                }
                for kind in np.unique(kinds[m & (y == 0)])
            },
            "fold_spread": {
                key: [min(f[key] for f in per_fold), max(f[key] for f in per_fold)]
                for key in ("false_refusals", "correct_refusals")
            },
        }
    final = _fit(x, y, names, c)
    threshold = _threshold(final.predict_proba(x)[:, 1], y, names, target)
    scaler, lr = final.named_steps["standardscaler"], final.named_steps["logisticregression"]
    weights = lr.coef_[0] / scaler.scale_  # the scaler folded in: runtime needs no sklearn
    bias = float(lr.intercept_[0] - np.sum(lr.coef_[0] * scaler.mean_ / scaler.scale_))
    report["model"] = {
        "weights": {f: round(float(w), 6) for f, w in zip(FEATURES, weights, strict=True)},
        "bias": round(bias, 6),
        "threshold": round(threshold, 6),
    }
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scifact", type=Path, help="a BEIR folder (scifact-dev), split train")
    ap.add_argument("--languages", action="store_true", help="add the German and Korean sets (evals/data)")
    ap.add_argument("--target", type=float, default=0.03, help="false refusal rate allowed per dataset")
    ap.add_argument("--data-dir", type=Path, help="where the dev indexes live (default: a temp dir)")
    ap.add_argument("--rows", type=Path, help="also write every question's features and label here (JSONL)")
    args = ap.parse_args(argv)
    settings = Settings(data_dir=args.data_dir or Path(tempfile.mkdtemp(prefix="citewise-calibrate-")))
    rows = collect(settings, args.scifact, lambda m: print(m, file=sys.stderr), languages=args.languages)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if not args.languages:
        print(json.dumps(calibrate(rows, target=args.target), indent=2))
        return 0
    # Two decisions: term coverage means nothing when the question and its best passage differ in language.
    report = calibrate([r for r in rows if not r["cross_lingual"]], target=args.target)
    crossing = calibrate([r for r in rows if r["cross_lingual"]], target=args.target)
    report["model"]["cross_lingual"] = crossing.pop("model")
    report["cross_lingual"] = crossing
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
