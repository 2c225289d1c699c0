"""The query-vector cache and the encoder's shared inference queue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from citewise.retrieval.query_cache import QueryVectorCache


def test_repeated_queries_skip_the_encoder_and_old_ones_are_evicted():
    calls = []

    def embed(text):
        calls.append(text)
        return np.array([float(len(text))], dtype=np.float32)

    cache = QueryVectorCache(2)
    first = cache.get("a", embed)
    assert cache.get("a", embed) is first and calls == ["a"] and (cache.hits, cache.misses) == (1, 1)
    with pytest.raises(ValueError):
        first[0] = 9.0  # shared between requests: read-only
    cache.get("bb", embed)
    cache.get("ccc", embed)  # evicts "a", the least recently used
    cache.get("a", embed)
    assert calls == ["a", "bb", "ccc", "a"]
    off = QueryVectorCache(0)
    off.get("a", embed)
    off.get("a", embed)
    assert calls[-2:] == ["a", "a"]


def test_concurrent_document_batches_share_one_queue_and_match_a_sequential_run(encoder):
    texts = [f"Passage {i} about vitamin D and bone fractures in older adults." * (1 + i % 3) for i in range(40)]
    expected = encoder.embed_documents(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(encoder.embed_documents, [texts] * 4))
    for got in results:
        assert np.allclose(got, expected, atol=1e-5)
