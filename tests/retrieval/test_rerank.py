from __future__ import annotations

import pytest

from citewise.errors import ConfigError, ModelMissingError
from citewise.models import ChunkPayload
from citewise.retrieval.rerank import load_reranker
from citewise.retrieval.rerank.cross_encoder import CrossEncoderReranker
from citewise.retrieval.rerank.fusion import FusionReranker
from citewise.retrieval.stores import ScoredPoint
from citewise.settings import RetrievalSettings


def cand(pid, dense, sparse=None, title="", text=""):
    scores = {"dense": dense} | ({"sparse": sparse} if sparse is not None else {})
    return ScoredPoint(pid, 0.0, ChunkPayload(title=title, text=text, doc_id=pid), scores)


def test_fusion_alpha_moves_between_branches():
    def ranked(alpha):
        pts = [cand("dense-best", 0.9, 1.0), cand("sparse-best", 0.5, 10.0), cand("no-term", 0.8)]
        return [p.id for p in FusionReranker(alpha).run("q", pts)]

    assert ranked(1.0) == ["dense-best", "no-term", "sparse-best"]
    assert ranked(0.0) == ["sparse-best", "dense-best", "no-term"]  # no shared term scores BM25 0
    out = FusionReranker(0.5).run("q", [cand("x", 0.8, 4.0)])
    assert out[0].scores["rerank"] == pytest.approx(1.0) and out[0].score == out[0].scores["rerank"]
    with pytest.raises(ValueError):
        FusionReranker(1.5)


def test_fusion_scores_a_passage_in_another_language_by_its_dense_score():
    def pts():
        english = cand("english-answer", 0.85)  # the answer, no shared term with a German question
        english.payload.language = "english"
        german = cand("german-name-match", 0.6, 8.0)  # shares a name with the question
        german.payload.language = "german"
        return [english, german]

    assert [p.id for p in FusionReranker(0.5).run("q", pts())][0] == "german-name-match"  # language unknown
    ranked = FusionReranker(0.5).run("q", pts(), language="german")
    assert [p.id for p in ranked] == ["english-answer", "german-name-match"]
    assert ranked[0].scores["rerank"] == pytest.approx(1.0)  # dense alone, max-normalised
    off = FusionReranker(0.5, cross_lingual_dense=False).run("q", pts(), language="german")
    assert off[0].id == "german-name-match"  # the switch the eval compares against


def test_reranker_names_and_missing_models_are_clear_errors(tmp_path):
    assert load_reranker("none", RetrievalSettings()).name == "none"
    with pytest.raises(ConfigError, match="unknown reranker"):
        load_reranker("colbert", RetrievalSettings())
    with pytest.raises(ConfigError, match="CROSS_ENCODER_MODEL"):
        load_reranker("cross-encoder", RetrievalSettings(cross_encoder_model=None))
    reranker = load_reranker("cross-encoder", RetrievalSettings(cross_encoder_model=str(tmp_path / "nope")))
    with pytest.raises(ModelMissingError, match="not found"):
        reranker.run("q", [cand("a", 0.1)])


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """A cross-encoder built from the MiniLM weights with a fresh 1-logit head: real mechanics, meaningless scores."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from citewise.retrieval.encoders.model_files import resolve_model_dir
    from citewise.settings import Settings

    src = resolve_model_dir(Settings().embedding)
    out = tmp_path_factory.mktemp("ce")
    AutoModelForSequenceClassification.from_pretrained(str(src), num_labels=1).save_pretrained(out)
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(out)
    return out


@pytest.mark.slow
def test_cross_encoder_scores_and_sorts_every_candidate(tiny_cross_encoder):
    reranker = CrossEncoderReranker(str(tiny_cross_encoder), batch_size=2)
    pts = [cand(str(i), 0.1, title=f"T{i}", text=f"passage number {i} about bones") for i in range(5)]
    out = reranker.run("vitamin d and bones", pts)
    assert sorted(p.id for p in out) == [str(i) for i in range(5)]
    scores = [p.scores["rerank"] for p in out]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    assert reranker.run("q", []) == []
