"""Eval runs started from the API (the web UI's Evals page): each run is a folder under
`<data_dir>/evals/<run id>/` holding `run.json` (kind, dataset, status, times, error) and, when it
succeeded, the reports the CLI writes (report.json, report.md, report.png). Runs go one at a time in a
background thread; a run left `running` by a stopped server is marked failed when the store opens."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from citewise.errors import ConfigError, InvalidInputError, NotFoundError
from citewise.settings import Settings

Status = Literal["queued", "running", "succeeded", "failed"]
UPLOAD_LIMIT = 50_000_000  # bytes per uploaded dataset file
CONFIGS = ("dense", "sparse", "hybrid")


def _quiet(_message: str) -> None:
    return None


class EvalRun(BaseModel):
    id: str
    kind: Literal["retrieval"]
    dataset: str
    tenant: str
    status: Status
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    report: dict | None = None  # report.json, once succeeded


class EvalRuns:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "evals"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewise-eval")
        self._lock = threading.Lock()
        for run in self._all():
            if run.status in ("queued", "running"):
                self._save(run.model_copy(update={"status": "failed", "error": "the server stopped during the run"}))

    # -- reading ------------------------------------------------------------------------------------------

    def _all(self) -> list[EvalRun]:
        if not self.root.is_dir():
            return []
        runs = []
        for path in self.root.glob("*/run.json"):
            try:
                runs.append(EvalRun.model_validate_json(path.read_text()))
            except ValueError:
                continue  # a half-written file: skipped, not fatal
        return sorted(runs, key=lambda r: r.created_at, reverse=True)

    def list(self, tenant: str) -> list[EvalRun]:
        return [r for r in self._all() if r.tenant == tenant]

    def get(self, tenant: str, run_id: str) -> EvalRun:
        path = self.root / run_id / "run.json"
        if "/" in run_id or ".." in run_id or not path.is_file():
            raise NotFoundError(f"no eval run {run_id!r}")
        run = EvalRun.model_validate_json(path.read_text())
        if run.tenant != tenant:
            raise NotFoundError(f"no eval run {run_id!r}")
        return run

    def plot(self, tenant: str, run_id: str) -> Path:
        self.get(tenant, run_id)
        path = self.root / run_id / "report.png"
        if not path.is_file():
            raise NotFoundError(f"eval run {run_id!r} has no plot (yet)")
        return path

    def datasets(self) -> dict[str, str]:
        return dict(self.settings.evals.datasets)

    # -- starting -----------------------------------------------------------------------------------------

    def start_configured(self, tenant: str, name: str, split: str = "test") -> EvalRun:
        folder = self.datasets().get(name)
        if folder is None:
            known = ", ".join(self.datasets()) or "none"
            raise ConfigError(f"no configured eval dataset {name!r}; configured: {known}")
        return self._start(tenant, name, Path(folder), split)

    def start_uploaded(self, tenant: str, name: str, corpus: bytes, queries: bytes, qrels: bytes) -> EvalRun:
        """A BEIR dataset from three uploaded files (corpus.jsonl, queries.jsonl, qrels as TSV)."""
        for label, data in (("corpus", corpus), ("queries", queries), ("qrels", qrels)):
            if not data.strip():
                raise InvalidInputError(f"the {label} file is empty")
            if len(data) > UPLOAD_LIMIT:
                raise InvalidInputError(f"the {label} file is over {UPLOAD_LIMIT:,} bytes")
        run_id = uuid.uuid4().hex[:12]
        folder = self.root / run_id / "dataset"
        (folder / "qrels").mkdir(parents=True)
        (folder / "corpus.jsonl").write_bytes(corpus)
        (folder / "queries.jsonl").write_bytes(queries)
        (folder / "qrels" / "test.tsv").write_bytes(qrels)
        from citewise.evals.beir import load_beir

        try:
            load_beir(folder, "test")  # a malformed upload is a 400 now, not a failed run later
        except Exception as exc:  # noqa: BLE001 - DatasetError and friends: the reason goes back to the caller
            shutil.rmtree(self.root / run_id, ignore_errors=True)
            raise InvalidInputError(f"not a BEIR dataset: {exc}") from None
        return self._start(tenant, name or "uploaded", folder, "test", run_id=run_id)

    def _start(self, tenant: str, name: str, folder: Path, split: str, run_id: str | None = None) -> EvalRun:
        run = EvalRun(id=run_id or uuid.uuid4().hex[:12], kind="retrieval", dataset=name, tenant=tenant,
                      status="queued", created_at=time.time())  # fmt: skip
        self._save(run)
        self._pool.submit(self._run, run, folder, split)
        return run

    def _run(self, run: EvalRun, folder: Path, split: str) -> None:
        from citewise.evals.retrieval_eval import run_retrieval_eval

        run = run.model_copy(update={"status": "running", "started_at": time.time()})
        self._save(run)
        try:
            report = run_retrieval_eval(
                folder, split=split, configs=CONFIGS, settings=self.settings, out_dir=self.root / run.id, log=_quiet
            )
            run = run.model_copy(update={"status": "succeeded", "report": report})
        except Exception as exc:  # noqa: BLE001 - any failure is the run's outcome, with its reason
            run = run.model_copy(update={"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]})
        self._save(run.model_copy(update={"finished_at": time.time()}))

    def _save(self, run: EvalRun) -> None:
        path = self.root / run.id / "run.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with self._lock:
            tmp.write_text(run.model_dump_json())
            tmp.replace(path)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
