"""The Tatoeba dev sets: line-aligned pairs become queries and their translations, one document per sentence."""

from __future__ import annotations

import json

import pytest

from citewise.evals import lang_sets


def _pairs(folder, korean: list[str], english: list[str]) -> None:
    (folder / "tatoeba.kor-eng.kor").write_text("\n".join(korean) + "\n", encoding="utf-8")
    (folder / "tatoeba.kor-eng.eng").write_text("\n".join(english) + "\n", encoding="utf-8")


def test_each_query_is_relevant_to_its_translation_and_repeats_are_one_document(tmp_path, monkeypatch):
    _pairs(tmp_path, ["나는 그의 모자가 싫다.", "톰은 물이 필요해.", "톰은 물이 필요하다."],
           ["I hate her hat.", "Tom needs water.", "Tom needs water."])  # fmt: skip
    corpus, queries, qrels = lang_sets._tatoeba(tmp_path, "kor")
    assert [d["text"] for d in corpus] == ["I hate her hat.", "Tom needs water."]
    assert qrels == [("kor0000", "en0000"), ("kor0001", "en0001"), ("kor0002", "en0001")]
    assert queries[2] == {"_id": "kor0002", "text": "톰은 물이 필요하다.", "answers": ["Tom needs water."]}

    monkeypatch.setattr(lang_sets, "OUT", tmp_path / "out")
    lang_sets._write("tatoeba-ko-en", corpus, queries, qrels, "source")
    folder = tmp_path / "out" / "tatoeba-ko-en"
    assert len((folder / "corpus.jsonl").read_text("utf-8").splitlines()) == 2
    assert json.loads((folder / "queries.jsonl").read_text("utf-8").splitlines()[0])["text"] == "나는 그의 모자가 싫다."
    assert (folder / "qrels" / "test.tsv").read_text("utf-8").splitlines()[1:] == [
        "kor0000\ten0000\t1", "kor0001\ten0001\t1", "kor0002\ten0001\t1"]  # fmt: skip


def test_sides_that_are_not_aligned_are_refused(tmp_path):
    _pairs(tmp_path, ["하나", "둘"], ["One."])
    with pytest.raises(ValueError, match="not line-aligned"):
        lang_sets._tatoeba(tmp_path, "kor")
