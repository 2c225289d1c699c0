"""Build the German and Korean retrieval dev sets under evals/data/ (BEIR folders) from public QA data:

- XQuAD (google-deepmind/xquad, CC BY-SA 4.0): 240 SQuAD paragraphs and 1,190 questions, professionally
  translated; the German split is parallel to the English one (same ids). Three sets: `xquad-en` (English
  questions, English paragraphs: the baseline), `xquad-de` (German on German), `xquad-de-en` (German
  questions, English paragraphs: cross-lingual).
- KorQuAD 1.0 dev (korquad.github.io, CC BY-ND 2.0 KR): Korean Wikipedia paragraphs with Korean questions;
  `korquad-ko` keeps the first ARTICLES articles verbatim (every paragraph and question of each). KorQuAD
  has no parallel English QA.
- Tatoeba (the 1,000-pair test sets of facebookresearch/LASER, data/tatoeba/v1; sentences CC BY 2.0 FR,
  tatoeba.org): line-aligned Korean-English and German-English sentence pairs. `tatoeba-ko-en` and
  `tatoeba-de-en` take the Korean (German) sentences as queries and the English ones as the corpus, each
  query's relevant document its translation: cross-lingual search for Korean, which KorQuAD cannot give,
  and German measured the same way beside XQuAD. English sentences that repeat are one document.

A question's relevant document is the paragraph it was written on. Answers are kept in the queries
(`answers`) for answer-containment checks. Run once:
`python -m citewise.evals.lang_sets XQUAD_DIR KORQUAD_JSON TATOEBA_DIR`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data"
ARTICLES = 25


def _squad(path: Path, articles: int | None = None) -> tuple[list[dict], list[dict], list[tuple[str, str]]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"][:articles]
    corpus, queries, qrels = [], [], []
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            pid = f"a{a:03d}p{p:02d}"
            corpus.append({"_id": pid, "title": article.get("title", ""), "text": paragraph["context"]})
            for qa in paragraph["qas"]:
                queries.append({"_id": qa["id"], "text": qa["question"], "answers": [x["text"] for x in qa["answers"]]})
                qrels.append((qa["id"], pid))
    return corpus, queries, qrels


def _tatoeba(folder: Path, lang: str) -> tuple[list[dict], list[dict], list[tuple[str, str]]]:
    """Queries in `lang`, the English side as the corpus; a repeated English sentence is one document."""
    foreign = (folder / f"tatoeba.{lang}-eng.{lang}").read_text(encoding="utf-8").splitlines()
    english = (folder / f"tatoeba.{lang}-eng.eng").read_text(encoding="utf-8").splitlines()
    if len(foreign) != len(english):
        raise ValueError(f"the sides are not line-aligned: {len(foreign)} and {len(english)} lines")
    ids: dict[str, str] = {}
    corpus, queries, qrels = [], [], []
    for i, (question, answer) in enumerate(zip(foreign, english, strict=True)):
        if answer not in ids:
            ids[answer] = f"en{i:04d}"
            corpus.append({"_id": ids[answer], "title": "", "text": answer})
        queries.append({"_id": f"{lang}{i:04d}", "text": question, "answers": [answer]})
        qrels.append((f"{lang}{i:04d}", ids[answer]))
    return corpus, queries, qrels


def _write(name: str, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str]], source: str) -> None:
    folder = OUT / name
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus), "utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), "utf-8")
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t1" for q, d in qrels)]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    (folder / "SOURCE.md").write_text(source + f"\n\n{len(corpus)} documents, {len(queries)} queries.\n", "utf-8")


def build(xquad: Path, korquad: Path, tatoeba: Path) -> None:
    xq = "XQuAD (https://github.com/google-deepmind/xquad), licensed CC BY-SA 4.0; unmodified text."
    en_corpus, en_queries, en_qrels = _squad(xquad / "xquad.en.json")
    de_corpus, de_queries, de_qrels = _squad(xquad / "xquad.de.json")
    assert [q["_id"] for q in en_queries] == [q["_id"] for q in de_queries], "the splits are not parallel"
    _write("xquad-en", en_corpus, en_queries, en_qrels, f"English questions on English paragraphs. {xq}")
    _write("xquad-de", de_corpus, de_queries, de_qrels, f"German questions on German paragraphs. {xq}")
    _write("xquad-de-en", en_corpus, de_queries, de_qrels, f"German questions on the English paragraphs. {xq}")
    ko_corpus, ko_queries, ko_qrels = _squad(korquad, ARTICLES)
    _write("korquad-ko", ko_corpus, ko_queries, ko_qrels,
           f"Korean questions on Korean paragraphs: the first {ARTICLES} articles of KorQuAD 1.0 dev, verbatim "
           "(https://korquad.github.io), licensed CC BY-ND 2.0 KR.")  # fmt: skip
    tt = ("Tatoeba sentence pairs as selected for the LASER test set (https://github.com/facebookresearch/LASER, "
          "data/tatoeba/v1, from tatoeba.org, 2018-11-17), licensed CC BY 2.0 FR; unmodified text.")  # fmt: skip
    for lang, name, language in (("kor", "ko", "Korean"), ("deu", "de", "German")):
        _write(f"tatoeba-{name}-en", *_tatoeba(tatoeba, lang),
               f"{language} sentences as queries, their English translations as the corpus. {tt}")  # fmt: skip


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
