from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from citewise.errors import ModelMissingError
from citewise.retrieval.encoders.dense import OpenVinoEncoder, TorchEncoder, load_dense_encoder
from citewise.settings import EmbeddingSettings

TEXTS = [
    "Vitamin D deficiency is associated with a higher risk of bone fractures in older adults.",
    "Qdrant is a vector database written in Rust.",
    "short",
    "A much longer passage " * 40,
]


def test_fast_path_vectors_are_normalised_and_in_input_order(encoder):
    vecs = encoder.embed_documents(TEXTS)
    assert vecs.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    # order-independent: length sorting and batches in flight must not shuffle rows
    assert np.allclose(encoder.embed_documents(TEXTS[::-1])[::-1], vecs, atol=1e-3)
    many = [f"passage {i} about topic {i % 7}" + " filler" * (i % 50) for i in range(200)]
    batched = encoder.embed_documents(many)
    for i in (0, 57, 199):  # several batches were in flight; each row is its own text
        assert float(batched[i] @ encoder.embed_documents([many[i]])[0]) > 0.999


def test_query_and_document_paths_agree(encoder):
    """Queries run on the latency-compiled model, documents on the throughput one: same vectors."""
    assert float(encoder.embed_query(TEXTS[0]) @ encoder.embed_documents([TEXTS[0]])[0]) > 0.999


def test_concurrent_queries_get_their_own_vectors(encoder):
    """The API embeds queries from many threads at once; no thread may get another's vector."""
    queries = [f"question {i} about {'vitamin' if i % 2 else 'qdrant'} number {i * 31}" for i in range(32)]
    serial = [encoder.embed_query(q) for q in queries]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(encoder.embed_query, queries))
    for a, b in zip(serial, parallel, strict=True):
        assert float(a @ b) > 0.9999


@pytest.mark.slow
def test_fast_path_matches_sentence_transformers(encoder):
    reference = TorchEncoder(EmbeddingSettings()).embed_documents(TEXTS)
    cosines = (reference * encoder.embed_documents(TEXTS)).sum(axis=1)
    # Measured on 1,000 SciFact chunks: min 0.998, mean 0.999 (int8 weights, dynamic int8 activations).
    assert cosines.min() >= 0.99, cosines


def test_missing_model_says_how_to_fix(tmp_path):
    with pytest.raises(ModelMissingError, match="CITEWISE_EMBEDDING__MODEL_PATH"):
        OpenVinoEncoder(EmbeddingSettings(model_path=tmp_path / "nope"))
    with pytest.raises(Exception, match="unknown embedding backend"):
        load_dense_encoder(EmbeddingSettings(), backend="tpu")
