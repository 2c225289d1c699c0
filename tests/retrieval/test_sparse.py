from citewise.retrieval.encoders.sparse import Bm25Encoder


def test_document_weights_saturate_and_are_deterministic():
    enc = Bm25Encoder()
    a = enc.embed_document("Running runners run. The runner runs!")
    b = Bm25Encoder().embed_document("Running runners run. The runner runs!")
    assert a == b  # same ids and weights in a new process-like instance (CRC32, no salted hash)
    assert len(a.indices) == len(set(a.indices)) and a.indices == sorted(a.indices)
    single = enc.embed_document("runner")
    assert max(a.values) > single.values[0]  # more occurrences weigh more ...
    assert max(a.values) < (enc.settings.k1 + 1)  # ... but saturate below k1 + 1


def test_query_uses_unit_weights_and_drops_stopwords():
    enc = Bm25Encoder()
    q = enc.embed_query("what is the effect of vitamin D on the bones")
    assert set(q.values) == {1.0}
    assert len(q.indices) == len(enc.terms("effect vitamin D bones"))
    assert enc.embed_query("the of and").indices == []
