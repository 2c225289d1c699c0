"""BM25 per language: each document's language is detected once and its chunks analysed with that
language's Snowball stemmer (German) or Korean morphemes; a query is analysed in its own language, and a
short or ambiguous one as the default. End to end: German and Korean questions find their documents, and
the extractive answerer answers them in their language."""

from __future__ import annotations

from citewise.connectors.jsonl import JsonlConnector
from citewise.ingest.pipeline import Ingestor
from citewise.models import Principal
from citewise.retrieval.encoders.sparse import Bm25Encoder
from citewise.retrieval.retriever import RetrievalRequest, Retriever
from citewise.settings import SparseSettings


def test_german_words_meet_across_inflections_and_korean_across_particles():
    bm25 = Bm25Encoder()
    assert bm25.detect("Die Mitarbeiter erhalten dreißig Urlaubstage pro Kalenderjahr.") == "german"
    assert set(bm25.terms("Urlaubstagen", "german")) == set(bm25.terms("Urlaubstage", "german"))
    assert "und" not in bm25.terms("Urlaub und Reisen", "german")  # German stop words
    assert bm25.detect("삭제된 파일은 다음 동기화 때 색인에서 제거됩니다.") == "korean"
    assert set(bm25.terms("파일을", "korean")) == set(bm25.terms("파일은", "korean")) == {"파일"}
    assert bm25.query_language("Berlin") == "english"  # one word: too short to tell, the default analyser
    assert Bm25Encoder(SparseSettings(detect_language=False)).detect("Die Mitarbeiter erhalten Urlaub.") == "english"


def test_a_batch_of_documents_is_detected_in_one_call_with_the_same_answers():
    bm25 = Bm25Encoder()
    texts = [
        "Die Mitarbeiter erhalten dreißig Urlaubstage pro Kalenderjahr.",
        "Deleted files are removed from the index on the next sync.",
        "삭제된 파일은 다음 동기화 때 색인에서 제거됩니다.",
        "x",  # too short to tell: the default
    ]
    assert bm25.detect_documents(texts) == [bm25.detect(t) for t in texts] == ["german", "english", "korean", "english"]
    assert Bm25Encoder(SparseSettings(detect_language=False)).detect_documents(texts[:1]) == ["english"]


def test_german_and_korean_documents_are_found_by_questions_in_their_language(settings, encoder, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    import json

    docs = [
        ("de1", "Urlaub", "Vollzeitbeschäftigte erhalten dreißig Urlaubstage pro Kalenderjahr."),
        ("de2", "Kantine", "Die Kantine serviert mittags von halb zwölf bis vierzehn Uhr."),
        ("ko1", "삭제", "삭제된 파일은 다음 동기화 때 색인에서 제거되어 검색 결과에 나타나지 않습니다."),
        ("ko2", "식당", "구내식당은 평일 열한 시 반부터 두 시까지 점심을 제공합니다."),
        ("en1", "Parking", "Visitors park on level two of the north garage."),
    ]
    lines = [json.dumps({"_id": i, "title": t, "text": x}, ensure_ascii=False) for i, t, x in docs]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ing = Ingestor(settings, encoder=encoder)
    try:
        ing.sync(JsonlConnector(path=corpus))
        retriever = Retriever(settings, store=ing.store, encoder=encoder)

        def first(question: str, mode: str = "sparse") -> str:
            return retriever.run(RetrievalRequest(query=question, principal=Principal(), k=3, mode=mode)).hits[0].title

        assert first("Wie viele Urlaubstage bekommen Vollzeitbeschäftigte?") == "Urlaub"
        assert first("Wann serviert die Kantine das Mittagessen?") == "Kantine"
        assert first("삭제된 파일은 검색 결과에서 어떻게 제거됩니까?") == "삭제"
        assert first("구내식당은 언제 점심을 제공합니까?") == "식당"
        assert first("Where do visitors park?") == "Parking"
        payloads = {p.payload.title: p.payload.language for p in ing.store.scroll(None, limit=10)}
        assert payloads == {
            "Urlaub": "german",
            "Kantine": "german",
            "삭제": "korean",
            "식당": "korean",
            "Parking": "english",
        }
    finally:
        ing.close()


def test_the_extractive_answerer_matches_terms_in_the_texts_language():
    from citewise.api.orchestration import text as textutil

    question = textutil.terms("Wie viele Urlaubstage bekommen Vollzeitbeschäftigte?")
    passage = textutil.terms("Vollzeitbeschäftigte bekommen dreißig Urlaubstage.")
    assert question & passage == {"urlaubstag", "vollzeitbeschaftigt", "bekomm"}  # German stems, not English
    assert textutil.terms("점심을 제공합니까?") & textutil.terms("구내식당은 점심을 제공합니다.") >= {"점심", "제공"}
