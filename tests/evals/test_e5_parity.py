from __future__ import annotations

import pytest

from citewise.evals.e5_parity import run, texts


def test_texts_mix_the_language_sets():
    sample = texts(10)
    assert len(sample) == 10 and any("의" in t or "는" in t for t in sample) and any(" der " in t for t in sample)


@pytest.mark.slow
def test_parity_report_on_a_small_sample():
    report = run(10)
    assert report["texts"] == 10 and report["token_count_mismatches"] == 0
    assert report["cosine"]["min"] >= 0.999 and report["seconds"]["speedup"] > 0
