"""No leaks: whatever the tenants, ACLs, query, mode, reranker and filters, a principal sees only its points.

Property-based over both backends. The dense encoder here is a hashing double (the real OpenVINO path is
covered in test_retriever.py); the store, filters, fusion, rerank and shaping code are the real ones.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citewise.models import ChunkPayload, Principal
from citewise.retrieval.encoders.sparse import Bm25Encoder
from citewise.retrieval.retriever import RetrievalRequest, Retriever, SearchFilters
from citewise.retrieval.stores.base import Point
from citewise.retrieval.stores.edge import EdgeStore
from citewise.retrieval.stores.qdrant_server import QdrantServerStore
from citewise.settings import Settings

WORDS = ["vitamin", "bone", "salary", "budget", "merger", "holiday", "qdrant", "fusion", "secret", "policy"]
TENANTS = ["acme", "globex", "initech"]
USERS = ["ann", "bob", "cy"]
GROUPS = ["hr", "eng", "legal"]
BM25 = Bm25Encoder()


class HashEncoder:
    """Deterministic bag-of-words vectors: similar word sets, similar vectors."""

    model_id = "hash"
    dim = 64

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in text.lower().split():
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        v[int(hashlib.md5(text.encode()).hexdigest(), 16) % self.dim] += 0.5  # distinct texts stay distinct
        return v / np.linalg.norm(v)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


acl_entry = st.one_of(st.sampled_from([f"user:{u}" for u in USERS]), st.sampled_from([f"group:{g}" for g in GROUPS]))
doc_strategy = st.fixed_dictionaries(
    {
        "tenant": st.sampled_from(TENANTS),
        "acl": st.one_of(st.just(["*"]), st.lists(acl_entry, min_size=1, max_size=3, unique=True)),
        "words": st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
        "chunks": st.integers(1, 3),
    }
)
principal_strategy = st.builds(
    Principal,
    tenant=st.sampled_from(TENANTS + ["nobody"]),
    user_id=st.one_of(st.none(), st.sampled_from(USERS)),
    groups=st.lists(st.sampled_from(GROUPS), max_size=2, unique=True),
)
request_strategy = st.fixed_dictionaries(
    {
        "query": st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
        "mode": st.sampled_from(["dense", "sparse", "hybrid"]),
        "fusion": st.sampled_from(["rrf", "dbsf"]),
        "reranker": st.sampled_from(["none", "fusion"]),
        "neighbours": st.integers(0, 1),
        "mmr_lambda": st.one_of(st.none(), st.just(0.5)),
        "filters": st.one_of(
            st.just(SearchFilters()),
            st.builds(SearchFilters, path_prefix=st.sampled_from(["/acme", "/globex", "/"])),
            st.builds(SearchFilters, match=st.just({"source": "src"})),
        ),
    }
)


def _points(docs: list[dict]) -> list[Point]:
    enc = HashEncoder()
    points = []
    for d, doc in enumerate(docs):
        doc_id = f"doc{d}"
        for i in range(doc["chunks"]):
            text = " ".join(doc["words"]) + f" part{i} of {doc_id}"  # unique text: dedup never hides a point
            points.append(
                Point(
                    id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc_id}/{i}")),
                    dense=enc.embed_query(text).tolist(),
                    sparse=BM25.embed_document(text),
                    payload=ChunkPayload(
                        tenant=doc["tenant"],
                        acl=doc["acl"],
                        doc_id=doc_id,
                        source="src",
                        key=doc_id,
                        path=f"/{doc['tenant']}/{doc_id}",
                        title=doc_id,
                        chunk_index=i,
                        text=text,
                    ),
                )
            )
    return points


def _visible(point: Point, principal: Principal) -> bool:
    p = point.payload
    return p.tenant == principal.tenant and bool(set(p.acl) & set(principal.acl_principals()))


def _check(backend: str, docs: list[dict], principal: Principal, req: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "edge":
            store = EdgeStore(Path(tmp) / "edge", HashEncoder.dim)
        else:
            store = QdrantServerStore("perm", HashEncoder.dim, path=Path(tmp) / "q")
        try:
            points = _points(docs)
            store.upsert(points)
            by_id = {p.id: p for p in points}
            cfg = Settings(data_dir=Path(tmp))
            cfg.retrieval.dedup_threshold = 1.0  # only exact duplicates merge; texts here are unique
            retriever = Retriever(cfg, store=store, encoder=HashEncoder())
            result = retriever.run(RetrievalRequest(principal=principal, k=50, max_per_doc=10, **req))
            for hit in result.hits:
                assert _visible(by_id[hit.chunk_id], principal), f"leak: {hit.chunk_id} to {principal}"
                for ctx in hit.context_before + hit.context_after:
                    assert _visible(by_id[ctx.chunk_id], principal), f"leak via context: {ctx.chunk_id}"
            if (
                req["mode"] == "dense"
                and not req["filters"].model_dump(exclude_defaults=True)
                and not req["mmr_lambda"]
            ):
                # and nothing visible is lost: dense returns every visible point when k covers them all
                visible = {p.id for p in points if _visible(p, principal)}
                assert {h.chunk_id for h in result.hits} == visible
        finally:
            store.close()


common = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(docs=st.lists(doc_strategy, min_size=1, max_size=8), principal=principal_strategy, req=request_strategy)
def test_no_leaks_edge(docs, principal, req):
    _check("edge", docs, principal, req)


@common
@given(docs=st.lists(doc_strategy, min_size=1, max_size=8), principal=principal_strategy, req=request_strategy)
def test_no_leaks_qdrant_client(docs, principal, req):
    _check("qdrant", docs, principal, req)


def test_permission_keys_cannot_be_overridden_by_filters():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="comes from the caller's identity"):
        SearchFilters(match={"tenant": "globex"})
    with pytest.raises(ValidationError, match="comes from the caller's identity"):
        SearchFilters(match={"acl": "*"})
