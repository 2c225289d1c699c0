"""Incremental sync end to end on the real stack (parsers, OpenVINO encoder, Qdrant Edge, SQLite)."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from citewise.connectors.filesystem import FilesystemConnector
from citewise.connectors.jsonl import JsonlConnector
from citewise.ingest.pipeline import Ingestor
from citewise.models import Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from tests.conftest import DOCS


def _points(ingestor: Ingestor) -> dict[str, tuple]:
    return {p.id: (p.payload.doc_id, p.payload.version, p.payload.text) for p in ingestor.store.scroll()}


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "alpha.md").write_text("# Alpha\n\nAlpha is about vitamin D and bone health.\n")
    (d / "beta.txt").write_text("Beta explains how Qdrant fuses dense and sparse results.\n")
    (d / "gamma.txt").write_text("Gamma covers holiday policy: 27 days per year.\n")
    return d


@pytest.mark.parametrize("backend", ["edge", "qdrant"])
def test_add_unchanged_change_delete(settings, encoder, folder, backend):
    settings.index.backend = backend  # qdrant = qdrant-client local mode in the data dir
    ing = Ingestor(settings, encoder=encoder)
    r1 = ing.sync(FilesystemConnector(path=folder))
    assert (r1.added, r1.updated, r1.unchanged, r1.deleted, r1.failed) == (3, 0, 0, 0, 0)
    assert r1.chunks == ing.store.count() >= 3

    r2 = ing.sync(FilesystemConnector(path=folder))
    assert (r2.added, r2.unchanged, r2.embedded) == (0, 3, 0)

    (folder / "beta.txt").write_text("Beta now explains reciprocal rank fusion only.\n")
    (folder / "gamma.txt").unlink()
    (folder / "delta.txt").write_text("Delta is new.\n")
    r3 = ing.sync(FilesystemConnector(path=folder))
    assert (r3.added, r3.updated, r3.unchanged, r3.deleted) == (1, 1, 1, 1)
    texts = [p[2] for p in _points(ing).values()]
    assert not any("Gamma" in t for t in texts)
    assert any("reciprocal rank fusion" in t for t in texts)
    assert not any("fuses dense and sparse" in t for t in texts)
    ing.close()


def test_bad_files_fail_alone_with_reasons(settings, encoder, folder):
    for bad in ("password_protected.xlsx", "password.pdf", "empty.txt"):
        shutil.copy(DOCS / "bad" / bad, folder / bad)
    ing = Ingestor(settings, encoder=encoder)
    report = ing.sync(FilesystemConnector(path=folder))
    assert report.added == 3 and report.failed == 3
    reasons = {e.path.rsplit("/", 1)[-1]: e.error for e in report.errors}
    assert reasons["password_protected.xlsx"].startswith("encrypted:")
    assert reasons["password.pdf"].startswith("encrypted:")
    assert reasons["empty.txt"].startswith("empty:")
    again = ing.sync(FilesystemConnector(path=folder))  # failures are retried and reported again, nothing lost
    assert again.failed == 3 and again.unchanged == 3
    ing.close()


def test_document_that_turns_bad_keeps_its_last_good_version(settings, encoder, folder):
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=folder))
    (folder / "beta.txt").write_bytes(b"")
    report = ing.sync(FilesystemConnector(path=folder))
    assert report.failed == 1
    assert any("fuses dense and sparse" in p[2] for p in _points(ing).values())
    ing.close()


def test_acl_change_updates_payload_without_reembedding(settings, encoder, folder):
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=folder))
    report = ing.sync(FilesystemConnector(path=folder, acl=["group:hr"]))
    assert report.updated == 3 and report.embedded == 0
    assert {tuple(p.payload.acl) for p in ing.store.scroll()} == {("group:hr",)}
    ing.close()


def test_tenants_and_acls_are_enforced_in_search(settings, encoder, folder, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "salaries.txt").write_text("Salary bands for vitamin researchers are confidential.")
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=folder), tenant="acme")
    ing.sync(FilesystemConnector(path=secret, acl=["group:hr"]), tenant="acme")
    ing.sync(FilesystemConnector(path=folder), tenant="globex")
    retriever = Retriever(settings, store=ing.store, encoder=encoder)

    def search(query: str, principal: Principal, k: int):
        return retriever.run(RetrievalRequest(query=query, principal=principal, k=k)).hits

    as_eng = search("vitamin salary", Principal(tenant="acme", user_id="bob", groups=["eng"]), k=20)
    assert as_eng and all("Salary" not in h.text for h in as_eng)
    assert all(h.path.startswith(str(folder)) for h in as_eng)
    as_hr = search("salary bands", Principal(tenant="acme", groups=["hr"]), k=20)
    assert any("Salary" in h.text for h in as_hr)
    doc_ids_acme = {h.doc_id for h in search("vitamin", Principal(tenant="acme"), k=20)}
    doc_ids_globex = {h.doc_id for h in search("vitamin", Principal(tenant="globex"), k=20)}
    assert doc_ids_acme.isdisjoint(doc_ids_globex)
    assert search("vitamin", Principal(tenant="nobody"), k=5) == []
    ing.close()


def test_jsonl_corpus_sync_and_record_deletion(settings, encoder, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"_id": f"d{i}", "title": f"Doc {i}", "text": f"Record number {i} talks about topic {i}."} for i in range(6)
    ]
    corpus.write_text("\n".join(json.dumps(r) for r in rows))
    ing = Ingestor(settings, encoder=encoder)
    assert ing.sync(JsonlConnector(path=corpus)).added == 6
    corpus.write_text("\n".join(json.dumps(r) for r in rows[:4]))
    report = ing.sync(JsonlConnector(path=corpus))
    assert (report.deleted, report.unchanged) == (2, 4)
    assert {p.payload.key for p in ing.store.scroll()} == {"d0", "d1", "d2", "d3"}
    retriever = Retriever(settings, store=ing.store, encoder=encoder)
    hit = retriever.run(RetrievalRequest(query="topic 2", principal=Principal(), k=1)).hits[0]
    assert hit.title == "Doc 2" and hit.text.startswith("Record number 2")
    ing.close()


def test_crash_between_upsert_and_commit_converges(settings, encoder, folder, tmp_path):
    """The tricky window: new points are in, stale ones not yet removed, state not committed."""
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=folder))
    (folder / "alpha.md").write_text("# Alpha\n\nCompletely rewritten alpha.\n\nWith a second paragraph.\n")
    (folder / "beta.txt").unlink()

    real_delete = ing.store.delete
    calls = {"n": 0}

    def dying_delete(flt):
        calls["n"] += 1
        raise KeyboardInterrupt("simulated crash")

    ing.store.delete = dying_delete
    with pytest.raises(KeyboardInterrupt):
        ing.sync(FilesystemConnector(path=folder))
    ing.store.delete = real_delete
    assert calls["n"] == 1
    ing.sync(FilesystemConnector(path=folder))
    crashed = _points(ing)
    ing.close()

    clean_settings = settings.model_copy(update={"data_dir": tmp_path / "clean"})
    clean = Ingestor(clean_settings, encoder=encoder)
    clean.sync(FilesystemConnector(path=folder))
    assert _points(clean).values() and sorted(crashed.values()) == sorted(_points(clean).values())
    assert set(crashed) == set(_points(clean))
    clean.close()


class _WaitingEncoder:
    """The real encoder, but its first embedding call waits until the ingestor parses another document:
    it returns only if parsing the next batch overlaps embedding this one."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.embedding = threading.Event()
        self.parsed_meanwhile = threading.Event()
        self.overlapped: list[bool] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_documents(self, texts):
        if not self.overlapped:
            self.embedding.set()
            self.overlapped.append(self.parsed_meanwhile.wait(timeout=15))
            self.embedding.clear()
        return self.inner.embed_documents(texts)


def test_next_batch_is_parsed_while_this_one_is_embedded(settings, encoder, folder):
    settings.ingest.batch_docs = 1
    waiting = _WaitingEncoder(encoder)
    ing = Ingestor(settings, encoder=waiting)
    parse = ing.parser.parse

    def noting_parse(doc):
        if waiting.embedding.is_set():
            waiting.parsed_meanwhile.set()
        return parse(doc)

    ing.parser.parse = noting_parse
    report = ing.sync(FilesystemConnector(path=folder))
    assert waiting.overlapped == [True]  # False: the first batch's embedding waited 15 s for a parse that never came
    assert (report.added, report.failed, report.embedded) == (3, 0, report.chunks)
    ing.close()
