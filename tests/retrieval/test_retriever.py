"""The retriever on the real stack: OpenVINO encoder, BM25, Qdrant Edge, ingest pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from citewise.connectors.filesystem import FilesystemConnector
from citewise.ingest.pipeline import Ingestor
from citewise.models import Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever, SearchFilters

DOCS = {
    "health/vitamin.md": "# Vitamin D\n\nVitamin D supplements reduce the risk of bone fractures in older adults.\n",
    "health/sleep.txt": "Adults who sleep less than six hours a night report more headaches.\n",
    "eng/qdrant.txt": "Qdrant fuses dense and sparse search results with reciprocal rank fusion.\n",
    "eng/rust.txt": "The Rust borrow checker prevents data races at compile time.\n",
    "hr/holidays.md": "# Holidays\n\nEmployees get 27 days of paid holiday per year.\n",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, encoder):
    from citewise.settings import Settings

    root = tmp_path_factory.mktemp("ret")
    folder = root / "docs"
    for rel, text in DOCS.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    long_text = "\n\n".join(
        f"Section {i}. " + " ".join(f"Paragraph {i} discusses topic {i} in detail, sentence {j}." for j in range(12))
        for i in range(6)
    )
    (folder / "long.txt").write_text(long_text)
    settings = Settings(data_dir=root / "data")
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=folder))
    retriever = Retriever(settings, store=ing.store, encoder=encoder)
    yield retriever, folder
    ing.close()


def run(retriever, query, **kw):
    return retriever.run(RetrievalRequest(query=query, principal=Principal(), **kw))


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
@pytest.mark.parametrize("reranker", ["none", "fusion"])
def test_every_mode_finds_the_passage_and_reports_stage_scores(corpus, mode, reranker):
    retriever, _ = corpus
    result = run(retriever, "does vitamin D prevent bone fractures", mode=mode, reranker=reranker, k=3)
    top = result.hits[0]
    assert "Vitamin D supplements" in top.text and top.path.endswith("vitamin.md")
    assert result.mode == mode and result.reranker == reranker
    assert {"dense", "sparse"} <= set(top.scores)  # exact branch scores for every hit, in every mode
    if mode == "hybrid":
        assert "fused" in top.scores
    if reranker == "fusion":
        assert top.score == top.scores["rerank"]
    assert top.char_start is not None and top.chunk_index == 0 and top.key == "health/vitamin.md"
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    assert {"embed", "search", "rerank", "shape", "total"} <= set(result.timings_ms)


def test_filters_narrow_results(corpus):
    retriever, folder = corpus
    q = "policy science programming"
    paths = {h.path for h in run(retriever, q, k=20, filters=SearchFilters(path_prefix=str(folder / "eng"))).hits}
    assert paths == {str(folder / "eng" / "qdrant.txt"), str(folder / "eng" / "rust.txt")}
    all_hits = run(retriever, q, k=20).hits
    one = all_hits[0].doc_id
    assert {h.doc_id for h in run(retriever, q, k=20, filters=SearchFilters(doc_ids=[one])).hits} == {one}
    assert run(retriever, q, filters=SearchFilters(sources=["no-such-source"])).hits == []
    source = all_hits[0].source
    assert run(retriever, q, filters=SearchFilters(sources=[source])).hits
    assert run(retriever, q, filters=SearchFilters(match={"title": "holidays"})).hits == [] or all(
        h.title == "holidays" for h in run(retriever, q, filters=SearchFilters(match={"title": "holidays"})).hits
    )
    future = datetime.now(UTC) + timedelta(days=1)
    past = datetime.now(UTC) - timedelta(days=365)
    assert run(retriever, q, filters=SearchFilters(modified_after=future)).hits == []
    assert len(run(retriever, q, k=20, filters=SearchFilters(modified_after=past)).hits) == len(all_hits)


def test_shaping_caps_per_document_and_attaches_neighbours(corpus):
    retriever, _ = corpus
    hits = run(retriever, "paragraph discusses topic in detail", k=10, max_per_doc=2).hits
    per_doc: dict[str, int] = {}
    for h in hits:
        per_doc[h.doc_id] = per_doc.get(h.doc_id, 0) + 1
    assert max(per_doc.values()) <= 2
    long_hit = next(h for h in run(retriever, "paragraph 3 discusses topic 3", k=1, neighbours=1).hits)
    assert long_hit.key == "long.txt" and long_hit.chunk_index is not None
    before = [c.chunk_index for c in long_hit.context_before]
    after = [c.chunk_index for c in long_hit.context_after]
    assert before == ([long_hit.chunk_index - 1] if long_hit.chunk_index > 0 else [])
    assert after and after[0] == long_hit.chunk_index + 1


def test_request_validation_is_clear():
    with pytest.raises(ValidationError):
        RetrievalRequest(query="", principal=Principal())
    with pytest.raises(ValidationError):
        RetrievalRequest(query="x", principal=Principal(), mode="fuzzy")
    with pytest.raises(ValidationError):
        SearchFilters(unknown="x")


def test_variants_are_retrieved_and_fused_with_the_question(corpus):
    """With rank fusion as the final order, a variant's best hit joins the question's; branch scores stay
    the question's own (the evidence check reads them)."""
    retriever, _ = corpus
    alone = run(retriever, "vitamin D", k=3, max_per_doc=1, reranker="none").hits
    fused = run(retriever, "vitamin D", k=3, max_per_doc=1, reranker="none", variants=["qdrant fusion"]).hits
    assert not any("Qdrant" in h.text for h in alone)
    assert {"health/vitamin.md", "eng/qdrant.txt"} <= {h.key for h in fused}
    vitamin = next(h for h in fused if h.key == "health/vitamin.md")
    assert vitamin.scores["dense"] == alone[0].scores["dense"] and all("multi_query" in h.scores for h in fused)
    rules = run(retriever, "What is vitamin D?", k=2, multi_query="rules").hits
    assert rules[0].key == "health/vitamin.md" and "multi_query" in rules[0].scores
