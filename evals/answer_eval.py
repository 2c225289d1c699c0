"""`citewise eval answers`: questions through the real answer pipeline, scored against gold answers.

Per question: normalised exact match and token F1 (best over the gold answers), whether a gold answer
appears in the answer, refusal, and the citations. A question with no gold answers is unanswerable and is
correct when refused. Per question, `grounded` and the pipeline's `flags`; overall, the grounded rate of the
answers given and what the profile's ungrounded-answer policy did (sentences removed, answers refused).
Citation validity is the share of [n] markers that resolve to a supplied source (dangling ones are removed
by the pipeline and counted here); with gold doc ids, citation precision and recall compare the cited
documents' keys with them.
"""

from __future__ import annotations

import re
import string
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from citewise.evals.qa import QAItem, load_qa
from citewise.settings import Settings

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalise(text: str) -> str:
    text = re.sub(r"\[\d+\]", " ", text.lower())
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    p, g = normalise(prediction).split(), normalise(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def score_item(item: QAItem, result: dict) -> dict:
    answer, refused = result["answer"], result["refused"]
    row: dict = {
        "question": item.question,
        "answer": answer,
        "refused": refused,
        "grounded": bool(result.get("grounded")),
        "flags": list(result["flags"]),
    }
    if item.answers:
        row["exact_match"] = float(any(normalise(answer) == normalise(g) for g in item.answers)) if not refused else 0.0
        row["f1"] = max(token_f1(answer, g) for g in item.answers) if not refused else 0.0
        row["contains_answer"] = float(any(normalise(g) in normalise(answer) for g in item.answers)) and not refused
    else:
        row["correct_refusal"] = float(refused)
    dangling = sum(
        len(f.split(":", 1)[1].split(",")) for f in result["flags"] if f.startswith("dangling_citation_removed:")
    )
    markers = len(re.findall(r"\[\d+\]", answer))
    row["citations_total"] = markers + dangling
    row["citations_valid"] = markers
    if item.doc_ids is not None and not refused:
        cited = {c["key"] for c in result["citations"] if c.get("key")}
        gold = set(item.doc_ids)
        row["citation_precision"] = len(cited & gold) / len(cited) if cited else 0.0
        row["citation_recall"] = len(cited & gold) / len(gold) if gold else 1.0
    return row


def _mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return round(sum(values) / len(values), 4) if values else None


def run_answer_eval(
    qa_file: Path,
    *,
    corpus: Path | None = None,
    profile: str | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> tuple[dict, list[dict]]:
    from citewise.api.orchestration.pipeline import ChatPipeline
    from citewise.api.orchestration.schemas import ChatRequest, Turn
    from citewise.errors import ProviderError
    from citewise.identity import Identity
    from citewise.retrieval.retriever import Retriever

    settings = settings or Settings()
    items = load_qa(qa_file)
    collection = None
    if corpus is not None:
        from citewise.evals.retrieval_eval import index_dataset

        collection = f"qa-{Path(corpus).stem}"
        index_dataset(settings, Path(corpus), collection, log)
    retriever = Retriever(settings, collection=collection)
    pipeline = ChatPipeline(settings, retriever)
    pipeline.profile(profile)  # unknown profile: a clear error before any work
    rows: list[dict] = []
    latency = []
    try:
        for item in items:
            turn = Turn(
                identity=Identity(tenant="default", user_id="eval", key_id="eval"),
                request=ChatRequest(question=item.question, profile=profile),
                trace_id=uuid.uuid4().hex,
            )
            t0 = time.perf_counter()
            try:
                result = pipeline.answer(turn).model_dump()
            except ProviderError as exc:  # every provider failed: scored as a refusal, reported in flags
                result = {"answer": "", "refused": True, "flags": [f"error:{exc}"], "citations": []}
            latency.append((time.perf_counter() - t0) * 1000)
            keys = {h.doc_id: h.key for h in turn.hits}
            for c in result["citations"]:
                c["key"] = keys.get(c["doc_id"], "")
            rows.append(score_item(item, result))
    finally:
        retriever.close()
    answerable = [r for r in rows if "f1" in r]
    answered = [r for r in rows if not r["refused"]]

    def flagged(flag: str) -> int:
        return sum(flag in r["flags"] for r in rows)

    total = sum(r["citations_total"] for r in rows)
    report = {
        "file": Path(qa_file).name,
        "questions": len(rows),
        "provider": profile or settings.chat.default_profile,
        "exact_match": _mean(answerable, "exact_match"),
        "f1": _mean(answerable, "f1"),
        "contains_answer": _mean(answerable, "contains_answer"),
        "refusal_rate": round(sum(r["refused"] for r in rows) / len(rows), 4),
        "correct_refusal_rate": _mean(rows, "correct_refusal"),
        "citation_validity": round(sum(r["citations_valid"] for r in rows) / total, 4) if total else None,
        "citation_precision": _mean(rows, "citation_precision"),
        "citation_recall": _mean(rows, "citation_recall"),
        "latency_ms_p50": round(sorted(latency)[len(latency) // 2], 2),
        "grounded_rate": round(sum(r["grounded"] for r in answered) / len(answered), 4) if answered else None,
        "ungrounded_policy": getattr(pipeline.profile(profile), "ungrounded", "flag"),
        "policy_trimmed": flagged("ungrounded:removed_unsupported"),  # unsupported sentences removed
        "policy_refused": flagged("ungrounded:refused"),  # nothing supported was left
        "model_refusals": flagged("model_refusal"),
    }
    return report, rows


def write_answer_reports(report: dict, rows: list[dict], out: Path) -> None:
    import json

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = [f"# Answer eval: {report['file']}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in report.items() if k != "file"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
