"""A document is visible whole or not at all: a server killed (SIGKILL) in the middle of an upload, or a disk
that is full, leaves no partial document and no duplicate after a restart."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from citewise.errors import StorageFullError
from citewise.identity import Identity
from citewise.ingest.documents import DocumentService
from citewise.ingest.pipeline import Ingestor
from citewise.models import Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from citewise.settings import Settings

ADMIN = Identity(tenant="default", user_id="ops", admin=True, key_id="key_test")
# ~300 chunks: two upsert batches, so a kill after the first one leaves a real half document
SECTION = "Section {i}. The quarterly audit of site {i} covers ledgers, badges and keys. "
BIG = "\n\n".join(SECTION.format(i=i) * 6 for i in range(600))

KILL_MID_UPLOAD = textwrap.dedent(
    """
    import io, os, signal, sys, threading
    from citewise.identity import Identity
    from citewise.ingest.documents import DocumentService
    from citewise.ingest.pipeline import Ingestor
    from citewise.settings import Settings

    settings = Settings(data_dir=sys.argv[1])
    ingestor = Ingestor(settings)
    real_upsert, calls = ingestor.store.upsert, []

    def upsert_then_die(points):
        real_upsert(points)
        calls.append(len(points))
        if len(calls) == 1:
            ingestor.store.flush()  # the first batch is on disk, like a server caught mid-write
            os.kill(os.getpid(), signal.SIGKILL)

    ingestor.store.upsert = upsert_then_die
    service = DocumentService(settings, ingestor, threading.Lock())
    ops = Identity(tenant="default", user_id="ops", admin=True)
    service.upload(ops, "big.txt", io.BytesIO(sys.stdin.buffer.read()), [])
    """
)


def _visible_chunks(settings: Settings, ingestor: Ingestor) -> list:
    retriever = Retriever(settings, store=ingestor.store, encoder=ingestor.encoder)
    return retriever.run(RetrievalRequest(query="quarterly audit ledgers badges", principal=Principal(), k=50)).hits


@pytest.mark.slow
def test_a_server_killed_mid_upload_leaves_no_half_document(tmp_path, encoder):
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-c", KILL_MID_UPLOAD, str(data)], input=BIG.encode(), capture_output=True,
        env={**os.environ, "CITEWISE_INGEST__BATCH_DOCS": "1"}, timeout=600,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    settings = Settings(data_dir=data)
    ingestor = Ingestor(settings, encoder=encoder)
    assert ingestor.store.count() > 0  # the first batch did reach the index...
    assert _visible_chunks(settings, ingestor) == []  # ...and no search can see it
    service = DocumentService(settings, ingestor, threading.Lock())
    assert service.list(ADMIN) == []
    assert service.recover() == 1  # the restart rolls the upload back, its file too
    assert ingestor.store.count() == 0 and not any((data / "uploads").rglob("*.txt"))
    again = service.upload(ADMIN, "big.txt", io.BytesIO(BIG.encode()), [])  # the client retries
    assert [d.doc_id for d in service.list(ADMIN)] == [again.doc_id]  # one document, not two
    assert ingestor.store.count() == again.chunks and again.chunks >= 256
    ingestor.close()


def test_an_update_that_dies_keeps_the_old_version_whole(settings, encoder, tmp_path, monkeypatch):
    from citewise.connectors.filesystem import FilesystemConnector

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "policy.txt").write_text("Old policy: badges are renewed every year.")
    ingestor = Ingestor(settings, encoder=encoder)
    ingestor.sync(FilesystemConnector(path=folder))
    (folder / "policy.txt").write_text(BIG)  # the new version needs several upsert batches
    real = ingestor.store.upsert
    calls = []

    def die_after_first(points):  # noqa: ANN001
        real(points)
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(ingestor.store, "upsert", die_after_first)
    with pytest.raises(StorageFullError, match="data dir"):  # the OS's ENOSPC, named for the operator
        ingestor.sync(FilesystemConnector(path=folder))
    texts = {h.text for h in _visible_chunks(settings, ingestor)} | {
        h.text
        for h in Retriever(settings, store=ingestor.store, encoder=encoder)
        .run(RetrievalRequest(query="badges renewed", principal=Principal(), k=10))
        .hits
    }
    assert texts == {"Old policy: badges are renewed every year."}  # nothing of the half-written new version
    monkeypatch.setattr(ingestor.store, "upsert", real)
    report = ingestor.sync(FilesystemConnector(path=folder))  # the next sync settles and finishes it
    assert report.updated == 1 and ingestor.store.count() == report.chunks
    ingestor.close()


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(small_disk, encoder):
    settings = Settings(data_dir=small_disk / "data")
    ingestor = Ingestor(settings, encoder=encoder)
    service = DocumentService(settings, ingestor, threading.Lock())
    small = service.upload(ADMIN, "small.txt", io.BytesIO(b"Parking permits cost 30 euros a month."), [])
    with pytest.raises(StorageFullError) as full:
        service.upload(ADMIN, "big.txt", io.BytesIO(BIG.encode() * 8), [])  # ~2,400 chunks: 101 MiB, over the disk
    assert str(small_disk / "data") in str(full.value) and "MiB free" in str(full.value)
    assert [d.doc_id for d in service.list(ADMIN)] == [small.doc_id]  # nothing partial, the rest intact
    assert ingestor.store.count() == small.chunks
    assert [p.name for p in (small_disk / "data" / "uploads").rglob("*.txt")] == ["small.txt"]
    ingestor.close()


def test_a_file_name_that_is_not_utf8_fails_alone(settings, encoder, tmp_path):
    from citewise.connectors.filesystem import FilesystemConnector

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("The good file is indexed.")
    with open(os.path.join(os.fsencode(folder), b"bad-\xff\xfe.txt"), "wb") as f:
        f.write(b"Latin-1 name, fine content.")
    ingestor = Ingestor(settings, encoder=encoder)
    report = ingestor.sync(FilesystemConnector(path=folder))
    assert report.added >= 1 and any("good" in p.payload.key for p in ingestor.store.scroll())
    assert report.added + report.failed == 2
    ingestor.close()


def test_no_filter_can_ask_for_pending_points():
    from citewise.retrieval.retriever import SearchFilters

    with pytest.raises(ValueError, match="status"):
        SearchFilters(match={"status": "pending"})
