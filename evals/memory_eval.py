"""How often a follow-up's search query finds the right document: the follow-up as typed, the heuristic
rewrite, and the LLM rewrite, side by side.

    citewise eval memory tests/fixtures/company-policies \
        --conversations tests/fixtures/company-policies/conversations.jsonl [--llm-model FILE.gguf]

Each conversation is a list of turns `{question, doc_id}`; every turn after the first is a follow-up whose
right document is `doc_id`. The assistant's earlier answers are stood in for by the first sentence of the
right document of their turn (what a grounded answer would say). Reported: hit@1 and hit@3 of the right
document over all follow-ups, per method, and how often the LLM's rewrite was used (a failed or rambling
rewrite falls back to the heuristic, as in the pipeline).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from citewise.errors import DatasetError
from citewise.models import Principal
from citewise.settings import Settings


def load_conversations(path: Path) -> list[dict]:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: {exc}") from exc
    for row in rows:
        if not isinstance(row.get("turns"), list) or len(row["turns"]) < 2:
            raise DatasetError(f"{path}: conversation {row.get('id')!r} needs at least two turns")
    return rows


def _llm_generate(model: Path):  # noqa: ANN202
    """The rewrite/summary helper the pipeline would use, on an in-process GGUF model."""
    from citewise.api.orchestration.prompts import PromptRegistry
    from citewise.api.orchestration.providers import Call, Prompt
    from citewise.api.orchestration.providers.llamacpp import LlamaCppProvider
    from citewise.settings import LlamaCppProfile

    provider = LlamaCppProvider(
        LlamaCppProfile(name="rewrite", model_path=model, max_tokens=48, temperature=0.0, context_window=2048)
    )
    registry = PromptRegistry(None)

    def generate(template: str, values: dict[str, str]) -> str | None:
        t = registry.resolve("default", template)
        return "".join(provider.stream(Prompt("", t.system, t.render(**values)), Call())).strip() or None

    return generate


def run_memory_eval(
    dataset_dir: Path,
    conversations: Path,
    *,
    llm_model: Path | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    from citewise.api.orchestration.memory import recall
    from citewise.api.orchestration.sessions import Memory
    from citewise.api.orchestration.text import sentence_spans
    from citewise.evals.retrieval_eval import prepare_dataset
    from citewise.retrieval.retriever import RetrievalRequest, Retriever

    settings = settings or Settings()
    data, collection, _ = prepare_dataset(dataset_dir, "test", settings, log)
    texts = {}
    for line in data.corpus.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts[row["_id"]] = row["text"]
    retriever = Retriever(settings, collection=collection)
    generate = _llm_generate(llm_model) if llm_model else None
    methods = ["as_typed", "heuristic"] + (["llm", "llm+heuristic"] if generate else [])
    hits = {m: [0, 0] for m in methods}
    llm_used, follow_ups, details = 0, 0, []
    for conv in load_conversations(conversations):
        history: list[tuple[str, str]] = []
        for i, turn in enumerate(conv["turns"]):
            if i > 0:
                follow_ups += 1
                queries = {"as_typed": turn["question"]}
                queries["heuristic"] = recall(
                    Memory(turns=history), turn["question"], max_tokens=10_000, keep_turns=4, generate=None
                ).query
                if generate:
                    r = recall(
                        Memory(turns=history), turn["question"], max_tokens=10_000, keep_turns=4, generate=generate
                    )
                    queries["llm"] = r.query
                    both = f"{queries['heuristic']} {r.query}"
                    queries["llm+heuristic"] = both if r.query != queries["heuristic"] else r.query
                    llm_used += r.rewritten_by == "llm"
                row = {"conversation": conv["id"], "turn": i, "doc_id": turn["doc_id"], "queries": queries}
                for method, query in queries.items():
                    ranked = [
                        h.key
                        for h in retriever.run(
                            RetrievalRequest(query=query, principal=Principal(), k=3, max_per_doc=1)
                        ).hits
                    ]
                    hits[method][0] += ranked[:1] == [turn["doc_id"]]
                    hits[method][1] += turn["doc_id"] in ranked
                    row[f"{method}_top3"] = ranked
                details.append(row)
            text = texts.get(turn["doc_id"], "")
            spans = sentence_spans(text)
            history += [("user", turn["question"]), ("assistant", text[: spans[0][1]] if spans else text)]
    report = {
        "conversations": len(load_conversations(conversations)),
        "follow_ups": follow_ups,
        "methods": {
            m: {"hit@1": round(h1 / follow_ups, 4), "hit@3": round(h3 / follow_ups, 4)} for m, (h1, h3) in hits.items()
        },
        "details": details,
    }
    if generate:
        report["llm_model"] = llm_model.name
        report["llm_rewrite_used"] = round(llm_used / follow_ups, 4)
    return report
