"""Ingestion benchmark: end-to-end throughput, re-ingest time, pure embedding (fast path vs torch), peak RSS.

Each repeat measures, in one process: a first ingest into a fresh index, a re-ingest of the unchanged
corpus, pure fast-path embedding of the same chunks, and torch vs fast path on one sample. Ratios are taken
within a repeat (like with like on a noisy machine) and reported as medians over the repeats.
Peak RSS is read after the first repeat's ingests, before the torch reference model is loaded.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from citewise.settings import Settings


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def _median(values: list[float], digits: int = 2) -> float:
    return round(statistics.median(values), digits)


def run_ingest_benchmark(
    path: Path, *, torch_sample: int = 0, repeats: int = 1, log: Callable[[str], None] = print
) -> dict:
    from citewise.connectors import FailedItem, create_connector
    from citewise.ingest.parsing import parse_document
    from citewise.ingest.pipeline import Ingestor
    from citewise.retrieval.encoders.dense import OpenVinoEncoder, TorchEncoder

    path = Path(path)
    kind = "jsonl" if path.is_file() and path.suffix == ".jsonl" else "filesystem"

    def ingest(settings: Settings):  # noqa: ANN202
        ingestor = Ingestor(settings)
        try:
            return ingestor.sync(create_connector(kind, path=path))
        finally:
            ingestor.close()

    rounds: list[dict] = []
    texts: list[str] = []
    fast = ref = None
    peak_rss = 0.0
    first = None
    for r in range(repeats):
        with tempfile.TemporaryDirectory(prefix="citewise-bench-") as tmp:
            settings = Settings(data_dir=Path(tmp))
            log(f"[{r + 1}/{repeats}] first ingest of {path} into a fresh index ...")
            first_s, first = _timed(lambda: ingest(settings))  # noqa: B023
            log(f"[{r + 1}/{repeats}] re-ingest of the unchanged corpus ...")
            second_s, second = _timed(lambda: ingest(settings))  # noqa: B023
            if r == 0:
                peak_rss = _peak_rss_mb()
                log("re-chunking to time pure embedding of the same chunks ...")
                chunker = Ingestor(settings).chunker
                for doc in create_connector(kind, path=path).load():
                    if isinstance(doc, FailedItem):
                        continue
                    try:
                        parsed = parse_document(doc)
                    except Exception:
                        continue
                    texts.extend(c.embed_text for c in chunker.run(parsed, doc_id="bench", title=doc.title))
                step = max(1, len(texts) // torch_sample) if torch_sample > 0 else 1
                sample = texts[::step][:torch_sample] if torch_sample > 0 else texts
                fast, ref = OpenVinoEncoder(settings.embedding), TorchEncoder(settings.embedding)
                fast.embed_documents(texts[:8])  # load + warm up outside the timings
                ref.embed_documents(sample[:8])
        log(f"[{r + 1}/{repeats}] pure embedding: fast path on all chunks, torch and fast path on the sample ...")
        fast_s, _ = _timed(lambda: fast.embed_documents(texts))  # noqa: B023
        torch_s, ref_vectors = _timed(lambda: ref.embed_documents(sample))  # noqa: B023
        fast_sample_s, fast_vectors = _timed(lambda: fast.embed_documents(sample))  # noqa: B023
        cosines = (ref_vectors * fast_vectors).sum(axis=1)
        rounds.append(
            {
                "first_ingest_s": round(first_s, 2),
                "reingest_s": round(second_s, 3),
                "reingest_unchanged": second.unchanged,
                "fast_path_all_chunks_s": round(fast_s, 2),
                "torch_sample_s": round(torch_s, 2),
                "fast_path_sample_s": round(fast_sample_s, 2),
                "fast_vs_torch": round(torch_s / fast_sample_s, 2),
                "end_to_end_over_pure_embedding": round(first_s / fast_s, 2),
                "reingest_speedup": round(first_s / second_s, 1),
            }
        )

    docs = first.added + first.failed
    first_s = statistics.median(x["first_ingest_s"] for x in rounds)
    return {
        "corpus": str(path),
        "repeats": repeats,
        "documents": docs,
        "failed": first.failed,
        "chunks": first.chunks,
        "torch_sample_chunks": len(sample),
        "median": {
            "first_ingest_s": _median([x["first_ingest_s"] for x in rounds]),
            "docs_per_s": round(docs / first_s, 1),
            "chunks_per_s": round(first.chunks / first_s, 1),
            "reingest_s": _median([x["reingest_s"] for x in rounds], 3),
            "reingest_speedup": _median([x["reingest_speedup"] for x in rounds], 1),
            "fast_path_all_chunks_s": _median([x["fast_path_all_chunks_s"] for x in rounds]),
            "fast_vs_torch": _median([x["fast_vs_torch"] for x in rounds]),
            "end_to_end_over_pure_embedding": _median([x["end_to_end_over_pure_embedding"] for x in rounds]),
        },
        "cosine_fast_vs_torch": {
            "min": round(float(cosines.min()), 4),
            "mean": round(float(cosines.mean()), 4),
            "median": round(float(statistics.median(cosines.tolist())), 4),
        },
        "peak_rss_mb_during_ingest": round(peak_rss, 1),
        "rounds": rounds,
    }


def _queries(path: Path, n: int = 200) -> list[str]:
    """Questions to time query embedding with: the BEIR set's own queries beside its corpus, else chunk titles."""
    import json

    beside = path.parent / "queries.jsonl" if path.is_file() else None
    if beside is not None and beside.is_file():
        with beside.open() as f:
            return [json.loads(line)["text"] for line, _ in zip(f, range(n), strict=False)]
    return [f"What does {p.stem} say?" for p in sorted(path.rglob("*"))[:n]] or ["a question"]


def run_encoder_benchmark(
    path: Path, encoders: list[str], *, repeats: int = 3, log: Callable[[str], None] = print
) -> dict:
    """First ingest of `path` into a fresh index with each encoder, alternating within a round, and each
    encoder's query-embedding latency; medians over `repeats`, time ratios against `encoders[-1]` (the
    baseline). Peak RSS is the process's after the first encoder's first ingest (name the one to check first)."""
    from citewise.connectors import create_connector
    from citewise.ingest.pipeline import Ingestor
    from citewise.retrieval.encoders.dense import load_dense_encoder

    path = Path(path)
    kind = "jsonl" if path.is_file() and path.suffix == ".jsonl" else "filesystem"
    questions = _queries(path)
    per: dict[str, dict[str, list[float]]] = {e: {"first_ingest_s": [], "query_p50_ms": [], "query_p95_ms": []}
                                              for e in encoders}  # fmt: skip
    counts: dict[str, tuple[int, int]] = {}
    peak_rss = 0.0
    for r in range(repeats):
        for name in encoders:
            with tempfile.TemporaryDirectory(prefix="citewise-bench-") as tmp:
                settings = Settings(data_dir=Path(tmp), embedding={"backend": name})
                encoder = load_dense_encoder(settings.embedding, name)
                encoder.embed_documents(["warm up"] * 8)  # model load and compile outside the timing
                ingestor = Ingestor(settings, encoder=encoder)
                log(f"[{r + 1}/{repeats}] {name}: first ingest of {path} ...")
                seconds, report = _timed(lambda: ingestor.sync(create_connector(kind, path=path)))  # noqa: B023
                ingestor.close()
                if not peak_rss:
                    peak_rss = _peak_rss_mb()
                encoder.embed_query("warm up")
                latencies = []
                for q in questions:
                    t0 = time.perf_counter()
                    encoder.embed_query(q)
                    latencies.append((time.perf_counter() - t0) * 1000)
                latencies.sort()
                per[name]["first_ingest_s"].append(round(seconds, 2))
                per[name]["query_p50_ms"].append(round(latencies[len(latencies) // 2], 2))
                per[name]["query_p95_ms"].append(round(latencies[int(len(latencies) * 0.95) - 1], 2))
                counts[name] = (report.added + report.failed, report.chunks)
    baseline = encoders[-1]
    out: dict = {"corpus": str(path), "repeats": repeats, "baseline": baseline, "queries": len(questions),
                 "peak_rss_mb_first_encoder": round(peak_rss, 1), "encoders": {}}  # fmt: skip
    base_s = statistics.median(per[baseline]["first_ingest_s"])
    for name in encoders:
        first_s = statistics.median(per[name]["first_ingest_s"])
        docs, chunks = counts[name]
        out["encoders"][name] = {
            "documents": docs,
            "chunks": chunks,
            "first_ingest_s": _median(per[name]["first_ingest_s"]),
            "docs_per_s": round(docs / first_s, 1),
            f"time_vs_{baseline}": round(first_s / base_s, 2),
            "query_p50_ms": _median(per[name]["query_p50_ms"]),
            "query_p95_ms": _median(per[name]["query_p95_ms"]),
            "rounds": per[name],
        }
    return out
