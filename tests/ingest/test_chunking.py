from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citewise.ingest.chunking import Chunker
from citewise.ingest.parsing.assemble import Block, assemble
from citewise.models import ParsedDocument
from citewise.settings import ChunkingSettings


def _doc(blocks: list[Block], title: str = "Doc") -> ParsedDocument:
    return assemble(blocks, title=title)


def _count(tokenizer, text: str) -> int:
    return len(tokenizer.encode(text).ids)  # with [CLS]/[SEP]


def _uncovered(doc: ParsedDocument, chunks) -> str:
    """Non-whitespace characters of the document that no chunk holds."""
    covered = [False] * len(doc.text)
    for c in chunks:
        covered[c.char_start : c.char_end] = [True] * (c.char_end - c.char_start)
    return "".join(ch for ch, hit in zip(doc.text, covered, strict=True) if not hit and not ch.isspace())


def test_small_elements_are_packed_within_a_section(tokenizer):
    doc = _doc(
        [
            Block("title", "Intro", depth=0),
            Block("text", "First paragraph."),
            Block("text", "Second one."),
            Block("title", "Details", depth=0),
            Block("text", "Third paragraph."),
        ]
    )
    chunks = Chunker(tokenizer).run(doc, doc_id="d")
    assert len(chunks) == 2
    assert chunks[0].text == "Intro\n\nFirst paragraph.\n\nSecond one."
    assert chunks[0].section_path == ["Intro"] and chunks[1].section_path == ["Details"]
    assert chunks[1].embed_text.startswith("Doc\nDetails\n\n")


def test_long_element_is_split_by_tokens_with_exact_spans(tokenizer):
    sentence = "Qdrant stores dense and sparse vectors for hybrid retrieval. "
    doc = _doc([Block("text", sentence * 80, page=3)])
    chunks = Chunker(tokenizer, ChunkingSettings(max_tokens=128, overlap_tokens=16)).run(doc, doc_id="d")
    assert len(chunks) > 5
    for c in chunks:
        assert doc.text[c.char_start : c.char_end] == c.text
        assert c.page == 3
        assert _count(tokenizer, c.embed_text) <= 128
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert _uncovered(doc, chunks) == ""


def test_split_element_keeps_all_of_its_text_and_overlaps(tokenizer):
    """Distinct sentences (no repeats to find by luck): every character lands in a chunk, in order."""
    text = " ".join(f"Finding {i} concerns protein {i * 7} in tissue sample {i * 13}." for i in range(120))
    doc = _doc([Block("text", text)])
    chunks = Chunker(tokenizer, ChunkingSettings(max_tokens=96, overlap_tokens=24)).run(doc, doc_id="d")
    assert len(chunks) > 5
    assert _uncovered(doc, chunks) == ""
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts) and starts[0] == 0
    assert all(b.char_start < a.char_end for a, b in itertools.pairwise(chunks)), "neighbours overlap"
    assert all(c.text.strip() for c in chunks)


def test_long_title_prefix_is_capped(tokenizer):
    doc = _doc([Block("text", "body text")], title="word " * 500)
    chunk = Chunker(tokenizer, ChunkingSettings(max_prefix_tokens=10)).run(doc, doc_id="d")[0]
    assert _count(tokenizer, chunk.embed_text) < 20


words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=400)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    paragraphs=st.lists(words, min_size=1, max_size=12),
    title=st.text(max_size=300),
    max_tokens=st.integers(min_value=48, max_value=256),
)
def test_never_over_the_model_limit_and_spans_map_back(tokenizer, paragraphs, title, max_tokens):
    blocks = [Block("title" if i % 4 == 0 else "text", p) for i, p in enumerate(paragraphs)]
    try:
        doc = _doc(blocks, title=title)
    except Exception:
        return  # all-whitespace input: parsing reports it as empty
    chunks = Chunker(tokenizer, ChunkingSettings(max_tokens=max_tokens, overlap_tokens=8)).run(doc, doc_id="d")
    assert chunks
    for c in chunks:
        assert _count(tokenizer, c.embed_text) <= max_tokens
        assert doc.text[c.char_start : c.char_end] == c.text
        assert 0 <= c.char_start < c.char_end <= len(doc.text)
