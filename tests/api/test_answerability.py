"""Calibrated answerability: the decision over retrieval signals, the model's own refusal, and the policy
for answers whose sentences the passages do not support."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from citewise.api.orchestration.answerability import FEATURES, model_refused, score, signals
from citewise.api.orchestration.citations import cite, supported_only
from citewise.models import SearchHit
from tests.api.fake_llm import FakeLLM

REPO = Path(__file__).resolve().parents[2]


def _hit(text: str, dense: float, sparse: float, doc: str = "d1") -> SearchHit:
    return SearchHit(doc_id=doc, chunk_id=f"{doc}-c", score=dense, scores={"dense": dense, "sparse": sparse},
                     title="t", path="p", page=None, text=text)  # fmt: skip


def test_signals_cover_the_question_terms_and_branch_agreement():
    hits = [_hit("Employees get 27 days of paid holiday per year.", 0.7, 9.0), _hit("Parking is free.", 0.2, 0.0, "d2")]
    f = signals("How many days of paid holiday do employees get?", hits)
    assert set(f) == set(FEATURES) and f["agree"] == 1.0 and f["coverage_best"] >= 0.8
    assert f["missing_all"] <= 1 and f["answer_type"] == 1.0  # "how many" and a number in the best sentence
    off = signals("How many parking spaces does the garage have?", hits)
    assert off["missing_all"] >= 2 and off["coverage_all"] < 0.5
    assert signals("anything", []) == dict.fromkeys(FEATURES, 0.0)


def test_the_default_model_answers_covered_questions_and_refuses_uncovered_ones():
    from citewise.settings import Settings

    model = Settings().chat.answerability_model
    hits = [_hit("Employees get 27 days of paid holiday per year.", 0.62, 9.0)]
    assert score(signals("How many days of paid holiday do employees get?", hits), model) >= model.threshold
    assert score(signals("What is the dress code for the quarterly board dinner?", hits), model) < model.threshold


@pytest.mark.parametrize(
    "answer",
    [
        "The knowledge base does not contain the answer.",
        "The sources do not mention who painted it.",
        "This is not stated in the sources.",
        "I don't know.",
    ],
)
def test_a_models_own_refusal_is_recognised(answer):
    assert model_refused(answer)


def test_a_grounded_answer_is_not_a_refusal():
    assert not model_refused("Employees get 27 days of paid holiday per year [1].")


def test_supported_only_keeps_the_supported_sentences():
    hits = [_hit("Employees get 27 days of paid holiday per year.", 0.7, 9.0)]
    cited = cite(
        "Employees get 27 days of paid holiday per year [1]. The Mona Lisa was painted by Leonardo.", hits, 0.5
    )
    assert not cited.grounded
    assert supported_only(cited) == "Employees get 27 days of paid holiday per year [1]."
    nothing = cite("Leonardo da Vinci painted the Mona Lisa in Florence.", hits, 0.5)
    assert supported_only(nothing) == ""


@pytest.fixture(scope="module")
def sample_app(tmp_path_factory, encoder):
    """The corpus `make run` ships (sample_corpus/), answered extractively and by a fake model."""
    from fastapi.testclient import TestClient

    from citewise.api.http.app import create_app
    from citewise.connectors.filesystem import FilesystemConnector
    from citewise.db import init_db
    from citewise.identity import create_key
    from citewise.ingest.pipeline import Ingestor
    from citewise.settings import ExtractiveProfile, OpenAIProfile, Settings

    root = tmp_path_factory.mktemp("sample")
    shutil.copytree(REPO / "sample_corpus", root / "docs")
    memory = FakeLLM(answer="Leonardo da Vinci painted the Mona Lisa in the sixteenth century.").__enter__()
    mixed = FakeLLM(answer="Citewise removes the chunks of a deleted file on the next sync [1]. "
                    "It also sends an e-mail to the administrator every Monday.").__enter__()  # fmt: skip
    humble = FakeLLM(answer="The knowledge base does not contain the answer.").__enter__()
    settings = Settings(data_dir=root / "data")
    settings.cache.backend = "off"
    settings.chat.profiles = [
        ExtractiveProfile(name="citewise"),
        OpenAIProfile(name="memory-refuse", base_url=memory.url, ungrounded="refuse", fallback=[]),
        OpenAIProfile(name="memory-flag", base_url=memory.url, ungrounded="flag", fallback=[]),
        OpenAIProfile(name="mixed", base_url=mixed.url, fallback=[]),
        OpenAIProfile(name="humble", base_url=humble.url, fallback=[]),
    ]
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=root / "docs"))
    ing.close()
    key = create_key(init_db(settings.db_url), tenant="default", user_id="u", groups=[])
    with TestClient(create_app(settings)) as client:
        yield client, {"Authorization": f"Bearer {key}"}
    for server in (memory, mixed, humble):
        server.__exit__()


def _ask(app, question, **extra):
    client, headers = app
    r = client.post("/v1/chat", json={"question": question, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("question", ["How are crashes handled during ingest?", "What happens when a file changes?"])
def test_the_natural_questions_the_old_threshold_refused_are_answered(sample_app, question):
    out = _ask(sample_app, question)
    assert not out["refused"] and out["citations"], out["flags"]
    assert out["sources"][0]["title"] == "sync-and-deletions"
    assert ("killed half-way" if "crashes" in question else "old chunks replaced") in out["answer"]


def test_a_question_the_sample_corpus_does_not_answer_is_refused(sample_app):
    out = _ask(sample_app, "Which encryption algorithm protects the index?")
    assert out["refused"] and out["checks"]["evidence"] == "refuse"


def test_an_answer_from_the_models_memory_is_refused_or_flagged_by_policy(sample_app):
    q = "What happens to deleted files in the index?"
    refused = _ask(sample_app, q, profile="memory-refuse")
    assert refused["refused"] and "ungrounded:refused" in refused["flags"] and "Leonardo" not in refused["answer"]
    flagged = _ask(sample_app, q, profile="memory-flag")
    assert not flagged["refused"] and not flagged["grounded"] and "Leonardo" in flagged["answer"]


def test_the_default_policy_keeps_only_supported_sentences(sample_app):
    out = _ask(sample_app, "What happens to deleted files in the index?", profile="mixed")
    assert "ungrounded:removed_unsupported" in out["flags"] and out["checks"]["groundedness"] == "trimmed"
    assert "Monday" not in out["answer"] and "[1]" in out["answer"] and out["grounded"]


def test_the_models_own_refusal_is_a_refusal(sample_app):
    out = _ask(sample_app, "What happens to deleted files in the index?", profile="humble")
    assert out["refused"] and "model_refusal" in out["flags"]


@pytest.mark.slow
def test_the_calibration_report_compares_old_and_new_per_dataset(tmp_path):
    from citewise.evals.calibrate_answerability import calibrate, collect
    from citewise.settings import Settings

    rows = collect(Settings(data_dir=tmp_path), None, lambda _: None)
    report = calibrate(rows, folds=3)
    assert set(report["datasets"]) == {"company-policies", "general", "sample"}
    for row in report["datasets"].values():
        assert {"old_threshold", "calibrated_out_of_fold", "fold_spread"} <= set(row)
        assert 0 <= row["calibrated_out_of_fold"]["false_refusals"] <= 1
    assert set(report["model"]["weights"]) == set(FEATURES)
    json.dumps(report)


def _in(language: str | None) -> SearchHit:
    return SearchHit(doc_id="d", chunk_id="c", score=1.0, title="t", path="p", page=None, text="x", language=language)


def test_the_cross_lingual_decision_is_used_only_when_the_best_passage_is_in_another_language():
    from citewise.api.orchestration.answerability import crosses_languages, pick
    from citewise.settings import AnswerabilityModel

    cross = AnswerabilityModel(bias=1.0)
    model = AnswerabilityModel(bias=-1.0, cross_lingual=cross)
    assert crosses_languages("german", [_in("english"), _in("german")])
    assert not crosses_languages("german", [_in("german"), _in("english")])
    assert not crosses_languages("german", [_in(None)]) and not crosses_languages("german", [])
    assert pick(model, "korean", [_in("english")]) is cross
    assert pick(model, "english", [_in("english")]) is model
    assert pick(AnswerabilityModel(), "korean", [_in("english")]).cross_lingual is None


def test_the_injection_similarity_cosine_follows_the_encoder():
    from citewise.api.orchestration.guardrails.injection import QuestionInjection
    from citewise.settings import GuardSettings

    embed = lambda text: None  # noqa: E731 - never called here
    threshold = lambda backend: QuestionInjection.from_settings(GuardSettings(), embed=embed, backend=backend)  # noqa: E731
    assert threshold("e5").similarity.threshold == 0.90 and threshold("openvino").similarity.threshold == 0.55
    off = GuardSettings(injection_similarity_by_backend={"e5": None})
    assert QuestionInjection.from_settings(off, embed=embed, backend="e5").similarity is None
