"""The plain pipeline against the agent on questions that need two or more lookups, a computation or a
table aggregation (tests/fixtures/multistep: 30 questions over the company-policies corpus and two CSVs).

    python -m llama_cpp.server --model <gguf> --chat_format chatml-function-calling --n_ctx 4096 --port 8088 &
    citewise eval agent tests/fixtures/multistep/questions.jsonl --base-url http://127.0.0.1:8088/v1

An answer is correct when it holds every needed fact (each a list of accepted spellings, case-insensitive,
thousands separators ignored). The corpus is indexed into a fresh data dir, so the run is self-contained.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from citewise.errors import DatasetError
from citewise.evals.common import p50_p95
from citewise.settings import OpenAIProfile, Settings

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
MODES = ("pipeline", "agent")


def _normal(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3})", "", text.casefold())


def correct(answer: str, needs: list[list[str]]) -> bool:
    text = _normal(answer)
    return all(any(_normal(option) in text for option in need) for need in needs)


def load_questions(path: Path) -> list[dict]:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: {exc}") from exc
    for i, row in enumerate(rows, 1):
        if not isinstance(row.get("question"), str) or not row.get("needs"):
            raise DatasetError(f"{path}:{i}: each line needs `question` and `needs` (a list of lists of strings)")
    return rows


def run_agent_eval(
    questions: Path,
    *,
    corpus: Path | None = FIXTURE / "company-policies" / "corpus.jsonl",
    docs: Path | None = FIXTURE / "multistep" / "docs",
    base_url: str | None = None,
    model: str | None = None,
    modes: tuple[str, ...] = MODES,
    log: Callable[[str], None] = print,
) -> dict:
    from citewise.api.orchestration.pipeline import ChatPipeline
    from citewise.api.orchestration.schemas import ChatRequest, Turn
    from citewise.connectors import create_connector
    from citewise.errors import CitewiseError
    from citewise.identity import Identity
    from citewise.ingest.pipeline import Ingestor
    from citewise.retrieval.retriever import Retriever

    rows = load_questions(questions)
    data_dir = Path(tempfile.mkdtemp(prefix="citewise-agent-eval-"))
    settings = Settings(data_dir=data_dir)
    profile = "citewise"
    if base_url:
        settings.chat.profiles.append(
            OpenAIProfile(
                name="eval-llm",
                base_url=base_url,
                model=model,
                max_tokens=200,
                context_window=4096,
                timeout_s=120,
                deadline_s=240,
                fallback=[],
            )
        )
        profile = "eval-llm"
    ingestor = Ingestor(settings)
    try:
        if corpus is not None:
            ingestor.sync(create_connector("jsonl", path=corpus))
        if docs is not None:
            ingestor.sync(create_connector("filesystem", path=docs))
    finally:
        ingestor.close()
    retriever = Retriever(settings)
    pipeline = ChatPipeline(settings, retriever)
    report: dict = {"questions": len(rows), "profile": profile, "model": model or base_url or "extractive", "modes": {}}
    details = []
    try:
        for mode in modes:
            scores: dict[str, list[bool]] = {}
            latency, steps, refused = [], [], 0
            for row in rows:
                turn = Turn(
                    identity=Identity(tenant="default", user_id="eval", key_id="eval"),
                    request=ChatRequest(question=row["question"], profile=profile, mode=mode),
                    trace_id=uuid.uuid4().hex,
                )
                t0 = time.perf_counter()
                try:
                    result = pipeline.answer(turn).model_dump()
                except CitewiseError as exc:
                    result = {"answer": "", "refused": True, "flags": [f"error:{exc}"], "steps": []}
                latency.append((time.perf_counter() - t0) * 1000)
                ok = not result["refused"] and correct(result["answer"], row["needs"])
                refused += bool(result["refused"])
                steps.append(len(result.get("steps") or []))
                scores.setdefault(row.get("kind", "all"), []).append(ok)
                details.append(
                    {
                        "mode": mode,
                        "question": row["question"],
                        "correct": ok,
                        "answer": result["answer"],
                        "tools": [s.get("tool") for s in result.get("steps") or [] if s.get("tool")],
                        "flags": result.get("flags", []),
                    }
                )
            every = [v for kind in scores.values() for v in kind]
            spread = p50_p95(latency)
            report["modes"][mode] = {
                "accuracy": round(sum(every) / len(every), 3),
                "by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in scores.items()},
                "refused": refused,
                "mean_steps": round(statistics.fmean(steps), 2),
                "latency_ms_p50": spread["p50"],
                "latency_ms_p95": spread["p95"],
            }
            log(f"{mode:9s} accuracy {report['modes'][mode]['accuracy']:.3f}  {report['modes'][mode]['by_kind']}")
    finally:
        retriever.close()
    report["details"] = details
    return report
