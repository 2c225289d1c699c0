"""One conformance suite for every VectorStore backend."""

from __future__ import annotations

import random
import uuid

import pytest

from citewise.models import ChunkPayload
from citewise.retrieval.encoders.sparse import Bm25Encoder
from citewise.retrieval.stores.base import Filter, Point, QuerySpec
from citewise.retrieval.stores.edge import EdgeStore
from citewise.retrieval.stores.qdrant_server import QdrantServerStore

DIM = 8
BM25 = Bm25Encoder()


def _open(backend: str, path):
    if backend == "edge":
        return EdgeStore(path / "edge", DIM)
    return QdrantServerStore("test", DIM, path=path / "qdrant")


@pytest.fixture(params=["edge", "qdrant-local"])
def backend(request, tmp_path):
    opened = []

    def factory():
        store = _open(request.param, tmp_path)
        opened.append(store)
        return store

    yield factory
    for s in opened:
        try:
            s.close()
        except Exception:
            pass


def query(store, flt: Filter, **spec):
    return store.query(QuerySpec(**spec), flt)


def _vec(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(DIM)]


def _point(doc: str, i: int, text: str, *, tenant="t1", acl=("*",), version="v1", seed=None) -> Point:
    return Point(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc}/{i}")),
        dense=_vec(seed if seed is not None else hash((doc, i)) % 1000),
        sparse=BM25.embed_document(text),
        payload=ChunkPayload(
            **{
                "tenant": tenant,
                "acl": list(acl),
                "doc_id": doc,
                "version": version,
                "source": "s",
                "path": f"/{doc}",
                "title": doc,
                "page": None,
                "char_start": 0,
                "char_end": len(text),
                "text": text,
            }
        ),
    )


def test_upsert_is_idempotent_and_counts(backend):
    store = backend()
    pts = [_point("a", i, f"alpha text {i}") for i in range(3)]
    store.upsert(pts)
    store.upsert(pts)
    assert store.count() == 3
    assert store.count(Filter(match={"doc_id": "a"})) == 3


def test_replace_document_chunks_by_version(backend):
    store = backend()
    store.upsert([_point("a", i, f"old {i}", version="v1") for i in range(4)])
    store.upsert([_point("a", i, f"new {i}", version="v2") for i in range(2)])
    store.delete(Filter(match={"doc_id": "a"}, exclude={"version": "v2"}))
    left = store.scroll(Filter(match={"doc_id": "a"}))
    assert sorted(p.payload.text for p in left) == ["new 0", "new 1"]


def test_delete_document(backend):
    store = backend()
    store.upsert([_point("a", 0, "alpha"), _point("b", 0, "beta")])
    store.delete(Filter(match={"doc_id": "a"}))
    assert [p.payload.doc_id for p in store.scroll()] == ["b"]
    (only_id,) = store.scroll(with_payload=False)  # ids alone: what a reindex lists before reading pages
    assert only_id.id == store.scroll()[0].id and only_id.payload.doc_id == "" and only_id.payload.text == ""
    with pytest.raises(ValueError):
        store.delete(Filter())


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_filtered_queries_find_the_right_point(backend, mode):
    store = backend()
    store.upsert(
        [
            _point("vit", 0, "vitamin d reduces bone fractures", seed=1),
            _point("rust", 0, "rust is a systems programming language", seed=2),
            _point("other-tenant", 0, "vitamin d and bone fractures", tenant="t2", seed=1),
            _point("secret", 0, "vitamin d bone fractures secret study", acl=("group:hr",), seed=1),
        ]
    )
    hits = query(
        store,
        mode=mode,
        flt=Filter(tenant="t1", acl_any=["*", "user:u"]),
        limit=10,
        dense=_vec(1),
        sparse=BM25.embed_query("vitamin bone fractures"),
    )
    assert hits and hits[0].payload.doc_id == "vit"
    assert {h.payload.doc_id for h in hits} <= {"vit", "rust"}
    hr = query(
        store,
        mode=mode,
        flt=Filter(tenant="t1", acl_any=["*", "group:hr"]),
        limit=10,
        dense=_vec(1),
        sparse=BM25.embed_query("secret study"),
    )
    assert "secret" in {h.payload.doc_id for h in hr}


def test_metadata_match_filter(backend):
    store = backend()
    store.upsert([_point("a", 0, "same words here"), _point("b", 0, "same words here")])
    hits = query(
        store,
        mode="sparse",
        flt=Filter(tenant="t1", match={"doc_id": ["b"]}),
        limit=5,
        sparse=BM25.embed_query("same words"),
    )
    assert [h.payload.doc_id for h in hits] == ["b"]


def test_persists_across_reopen(backend):
    store = backend()
    store.upsert([_point("a", i, f"persisted {i}") for i in range(5)])
    store.close()
    reopened = backend()
    assert reopened.count() == 5
    hits = query(
        reopened,
        mode="hybrid",
        flt=Filter(tenant="t1", acl_any=["*"]),
        limit=3,
        dense=_vec(3),
        sparse=BM25.embed_query("persisted"),
    )
    assert len(hits) == 3


def test_second_open_of_the_same_folder_is_a_clear_error(backend):
    from citewise.errors import IndexLockedError

    backend()
    with pytest.raises(IndexLockedError, match="open in another process"):
        backend()


def test_idf_is_applied_by_the_engine(backend):
    """BM25 weights are tf-only on the client; the rare term must still win through Qdrant's IDF modifier."""
    store = backend()
    store.upsert([_point("rare", 0, "zebra")] + [_point(f"common{i}", 0, "horse") for i in range(8)])
    hits = query(store, mode="sparse", flt=Filter(tenant="t1"), limit=3, sparse=BM25.embed_query("horse zebra"))
    assert hits[0].payload.doc_id == "rare"
    assert hits[0].score > hits[1].score


def test_edge_creates_payload_indexes_for_filtered_fields(tmp_path):
    from citewise.retrieval.stores.base import INDEXED_FIELDS

    store = EdgeStore(tmp_path / "edge", DIM)
    try:
        assert set(INDEXED_FIELDS) <= set(store.shard.info().payload_schema)
    finally:
        store.close()


def test_hybrid_reports_branch_scores_and_honours_fusion_settings(backend):
    """Each fused hit carries the scores its branches gave it; RRF weights and DBSF change the fused order."""
    store = backend()
    store.upsert(
        [
            _point("dense-top", 0, "migration of words", seed=1),  # the query vector is _vec(1)
            _point("bm25-top", 0, "zebra zebra migration", seed=7),  # second on dense, first on BM25
        ]
    )
    common = dict(limit=2, dense=_vec(1), sparse=BM25.embed_query("zebra migration"), mode="hybrid")
    hits = query(store, Filter(tenant="t1"), **common)
    by_doc = {h.payload.doc_id: h.scores for h in hits}
    assert by_doc["dense-top"]["dense"] == pytest.approx(1.0, abs=1e-4)
    assert by_doc["dense-top"]["dense"] > by_doc["bm25-top"]["dense"]
    assert by_doc["bm25-top"]["sparse"] > by_doc["dense-top"]["sparse"] > 0
    assert all("fused" in s for s in by_doc.values())
    dbsf = query(store, Filter(tenant="t1"), fusion="dbsf", **common)
    assert {h.payload.doc_id for h in dbsf} == {"dense-top", "bm25-top"}
    if isinstance(store, EdgeStore):  # qdrant-client's local mode ignores RRF weights; Edge and servers apply them
        # Qdrant scores rank r as 1 / ((r + 1) / weight + k - 1): weights only bite when k is small
        dense_first = query(store, Filter(tenant="t1"), weights=(10.0, 1.0), rrf_k=1, **common)
        sparse_first = query(store, Filter(tenant="t1"), weights=(1.0, 10.0), rrf_k=1, **common)
        assert dense_first[0].payload.doc_id == "dense-top" and sparse_first[0].payload.doc_id == "bm25-top"


def test_exact_scores_for_given_points(backend):
    store = backend()
    store.upsert([_point("a", 0, "zebra", seed=1), _point("b", 0, "horse", seed=2)])
    ids = [p.id for p in store.scroll(Filter(tenant="t1"))]
    scores = store.score(ids, Filter(tenant="t1"), dense=_vec(1), sparse=BM25.embed_query("zebra"))
    by_doc = {p.payload.doc_id: scores[p.id] for p in store.scroll(Filter(tenant="t1"))}
    assert by_doc["a"]["dense"] == pytest.approx(1.0, abs=1e-4) and by_doc["a"]["sparse"] > 0
    assert "sparse" not in by_doc["b"] and "dense" in by_doc["b"]
    assert store.score(ids, Filter(tenant="t2"), dense=_vec(1)) == {}  # the filter still applies


def test_pending_points_stay_hidden_until_flipped(backend):
    store = backend()
    pts = [_point("new", i, f"fresh text {i}") for i in range(3)]
    for p in pts:
        p.payload.status = "pending"
    store.upsert(pts)
    visible = Filter(tenant="t1", exclude={"status": "pending"})
    assert store.count(visible) == 0 and store.count() == 3
    store.set_payload(Filter(match={"doc_id": "new", "version": "v1"}), {"status": "live"})
    assert store.count(visible) == 3
    with pytest.raises(ValueError):
        store.set_payload(Filter(), {"status": "pending"})  # never every point
