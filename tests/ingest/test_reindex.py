"""Switching the embedding model without re-uploading: a 2,000-chunk index moves from MiniLM to e5 while a client
keeps searching, survives a crash half-way, resumes, and ends equal to a clean e5 index; no source is fetched
and no file parsed on the way (counted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from citewise.connectors.jsonl import JsonlConnector
from citewise.ingest.parsing.sandbox import ParserSandbox
from citewise.ingest.pipeline import Ingestor
from citewise.ingest.reindex import reindex
from citewise.models import Principal
from citewise.retrieval.generations import Generations
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from citewise.retrieval.stores.factory import index_exists
from citewise.settings import Settings

pytestmark = pytest.mark.slow

TOPICS = ["holiday", "expense", "laptop", "badge", "parking", "travel", "training", "payroll", "canteen", "backup"]
ACTIONS = ["is approved by", "must be filed with", "is reported to", "is renewed by", "is handled by"]
TEAMS = ["the finance team", "the IT help desk", "your manager", "human resources", "the security office"]
QUERIES = ["Who approves holiday requests?", "Wer kümmert sich um die Laptops?", "출장 경비는 누구에게 보고합니까?"]


def _corpus(path: Path, n: int = 2000) -> Path:
    with path.open("w") as f:
        for i in range(n):
            topic, action, team = TOPICS[i % 10], ACTIONS[(i // 10) % 5], TEAMS[(i // 50) % 5]
            text = f"Policy {i}: every {topic} request {action} {team} within {i % 30 + 1} days (case {i})."
            f.write(json.dumps({"_id": f"p{i}", "title": f"{topic} policy {i}", "text": text}) + "\n")
    return path


def _top(retriever: Retriever, query: str) -> list[tuple[str, float]]:
    hits = retriever.run(RetrievalRequest(query=query, principal=Principal(), k=10, mode="dense", reranker="none"))
    return [(h.chunk_id, round(h.score, 3)) for h in hits.hits]


def _close(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    return [i for i, _ in a] == [i for i, _ in b] and all(
        abs(x - y) <= 0.002 for (_, x), (_, y) in zip(a, b, strict=True)
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _corpus(tmp_path_factory.mktemp("reindex") / "policies.jsonl")


@pytest.fixture(scope="module")
def clean_e5(tmp_path_factory, corpus) -> dict[str, list[tuple[str, float]]]:
    """The same corpus indexed from scratch with e5: what a reindex must end equal to."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("clean"), embedding={"backend": "e5"})
    ingestor = Ingestor(settings)
    ingestor.sync(JsonlConnector(path=corpus))
    retriever = Retriever(settings, index=ingestor.index)
    assert ingestor.index.live().encoder == "e5" and ingestor.store.count() == 2000
    out = {q: _top(retriever, q) for q in QUERIES}
    ingestor.close()
    return out


def _count_calls(monkeypatch) -> dict[str, int]:
    calls = {"fetch": 0, "parse": 0}
    load, parse = JsonlConnector.load, ParserSandbox.parse

    def counted_load(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls["fetch"] += 1
        return load(self, *a, **k)

    def counted_parse(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls["parse"] += 1
        return parse(self, *a, **k)

    monkeypatch.setattr(JsonlConnector, "load", counted_load)
    monkeypatch.setattr(ParserSandbox, "parse", counted_parse)
    return calls


class Crash(Exception):
    pass


def test_switch_minilm_to_e5_while_searching_crash_and_resume(tmp_path, corpus, clean_e5, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data")  # the MiniLM default of existing data dirs
    ingestor = Ingestor(settings)
    ingestor.sync(JsonlConnector(path=corpus))
    assert ingestor.index.live().encoder == "openvino" and ingestor.store.count() == 2000
    retriever = Retriever(settings, index=ingestor.index)
    minilm = {q: _top(retriever, q) for q in QUERIES}
    calls = _count_calls(monkeypatch)

    seen: list[tuple[str, list]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def client() -> None:
        n = 0
        while not stop.is_set():
            q = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                seen.append((q, _top(retriever, q)))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    searching = threading.Thread(target=client)
    searching.start()

    def crash_half_way(done: int) -> None:
        if done >= 1000:
            raise Crash

    with pytest.raises(Crash):
        reindex(settings, "e5", index=ingestor.index, after_page=crash_half_way)
    row = Generations(ingestor.index.generations.sessions).get(ingestor.index.collection)
    assert row.status == "failed" and row.encoder == "openvino" and 1000 <= row.done < 2000
    assert ingestor.index.live().encoder == "openvino"  # still answering from MiniLM

    report = reindex(settings, "e5", index=ingestor.index)
    assert report.skipped >= 1000 and report.embedded + report.skipped == 2000
    time.sleep(0.5)  # a few searches on the new generation
    stop.set()
    searching.join()

    assert not errors, errors[:3]
    assert calls == {"fetch": 0, "parse": 0}
    after = {q: _top(retriever, q) for q in QUERIES}
    for q in QUERIES:
        assert _close(after[q], clean_e5[q]), q  # equal to a clean e5 index
    kinds = set()
    for q, result in seen:  # never a mix: every answer is all-MiniLM or all-e5
        kind = "minilm" if _close(result, minilm[q]) else "e5" if _close(result, clean_e5[q]) else "mixed"
        kinds.add(kind)
        assert kind != "mixed", (q, result)
    assert kinds == {"minilm", "e5"}

    live = ingestor.index.live()
    assert live.encoder == "e5" and live.physical != "citewise" and ingestor.store.count() == 2000
    assert not index_exists(settings, "citewise")  # the old collection is dropped
    assert ingestor.sync(JsonlConnector(path=corpus)).unchanged == 2000  # nothing to re-parse afterwards
    ingestor.close()


def test_a_killed_cli_reindex_resumes_to_a_clean_e5_index(tmp_path, corpus, clean_e5):
    data = tmp_path / "data"
    ingestor = Ingestor(Settings(data_dir=data))
    ingestor.sync(JsonlConnector(path=corpus))
    sessions = ingestor.index.generations.sessions
    ingestor.close()  # the CLI process holds the embedded index from here on
    env = {**os.environ, "CITEWISE_DATA_DIR": str(data)}
    cli = [sys.executable, "-m", "citewise.api.cli", "reindex", "--encoder", "e5"]
    proc = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        row = Generations(sessions).get("citewise")
        if row is not None and row.done >= 1000:
            break
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    row = Generations(sessions).get("citewise")
    assert row.status == "reindexing" and row.encoder == "openvino" and row.done < 2000

    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "openvino -> e5, 2000 chunks" in done.stdout and "from an earlier run" in done.stdout
    settings = Settings(data_dir=data)
    retriever = Retriever(settings)
    for q in QUERIES:
        assert _close(_top(retriever, q), clean_e5[q]), q
    retriever.close()


@pytest.mark.parametrize("backend", ["openvino", "e5"])
def test_a_collection_from_before_generations_is_recorded_with_the_encoder_that_built_it(tmp_path, backend, e5):
    from citewise.retrieval.encoders.dense import load_dense_encoder
    from citewise.retrieval.index import ActiveIndex

    settings = Settings(data_dir=tmp_path / "data")  # settings say MiniLM either way
    # An injected encoder records no generation: the index looks like one from before them.
    ingestor = Ingestor(settings, encoder=e5 if backend == "e5" else load_dense_encoder(settings.embedding, backend))
    ingestor.sync(JsonlConnector(path=_corpus(tmp_path / "few.jsonl", 20)))
    ingestor.close()
    assert Generations(ingestor.index.generations.sessions).get("citewise") is None
    index = ActiveIndex(settings, "citewise")
    assert index.live().encoder == backend and index.live().physical == "citewise"
    index.close()
