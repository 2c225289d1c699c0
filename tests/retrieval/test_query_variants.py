"""Rule-based query variants for multi-query retrieval (the fusion is tested in test_retriever.py)."""

from __future__ import annotations

from citewise.retrieval.query_variants import rule_variants


def test_rule_variants_are_content_words_and_parts():
    assert rule_variants("What is the refund policy?") == ["refund policy"]
    assert rule_variants("How many holiday days do we get and when do unused days expire?") == [
        "many holiday days get unused days expire",
        "How many holiday days do we get",
        "when do unused days expire",
    ]
    assert rule_variants("refund policy") == []
