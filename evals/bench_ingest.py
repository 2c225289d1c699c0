"""Ingestion benchmark: end-to-end throughput, re-ingest time, pure embedding (fast path vs torch), peak RSS.

Everything is measured in one process and one run, so the ratios compare like with like on a noisy machine.
Peak RSS is read right after the two ingest runs, before the torch reference model is loaded.
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


def run_ingest_benchmark(path: Path, *, torch_sample: int = 0, log: Callable[[str], None] = print) -> dict:
    from connectors import FailedItem, create_connector
    from ingest.parsing import parse_document
    from ingest.pipeline import Ingestor
    from retrieval.encoders.dense import OnnxEncoder, TorchEncoder

    path = Path(path)
    kind = "jsonl" if path.is_file() and path.suffix == ".jsonl" else "filesystem"
    with tempfile.TemporaryDirectory(prefix="citewise-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))

        log(f"first ingest of {path} into a fresh index ...")
        t0 = time.perf_counter()
        ingestor = Ingestor(settings)
        first = ingestor.sync(create_connector(kind, path=path))
        ingestor.close()
        first_s = time.perf_counter() - t0

        log("re-ingest of the unchanged corpus ...")
        t0 = time.perf_counter()
        ingestor = Ingestor(settings)
        second = ingestor.sync(create_connector(kind, path=path))
        ingestor.close()
        second_s = time.perf_counter() - t0
        peak_rss = _peak_rss_mb()

        log("re-chunking to time pure embedding of the same chunks ...")
        chunker = ingestor.chunker
        texts: list[str] = []
        for doc in create_connector(kind, path=path).load():
            if not isinstance(doc, FailedItem):
                try:
                    parsed = parse_document(doc)
                except Exception:
                    continue
                texts.extend(c.embed_text for c in chunker.run(parsed, doc_id="bench", title=doc.title))

        onnx = OnnxEncoder(settings.embedding)
        onnx.embed_documents(texts[:8])  # load + warm up outside the timing
        t0 = time.perf_counter()
        onnx.embed_documents(texts)
        onnx_s = time.perf_counter() - t0

        sample = texts if torch_sample <= 0 else texts[:: max(1, len(texts) // torch_sample)][:torch_sample]
        log(f"torch reference on {len(sample)} chunks ...")
        ref = TorchEncoder(settings.embedding)
        ref.embed_documents(sample[:8])
        t0 = time.perf_counter()
        ref_vectors = ref.embed_documents(sample)
        torch_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast_vectors = onnx.embed_documents(sample)
        onnx_sample_s = time.perf_counter() - t0
        cosines = (ref_vectors * fast_vectors).sum(axis=1)

    docs = first.added + first.failed
    return {
        "corpus": str(path),
        "documents": docs,
        "failed": first.failed,
        "chunks": first.chunks,
        "first_run": {
            "seconds": round(first_s, 2),
            "docs_per_s": round(docs / first_s, 1),
            "chunks_per_s": round(first.chunks / first_s, 1),
        },
        "reingest_unchanged": {
            "seconds": round(second_s, 3),
            "unchanged": second.unchanged,
            "speedup": round(first_s / second_s, 1),
        },
        "pure_embedding": {
            "fast_path_onnx_int8_s": round(onnx_s, 2),
            "fast_path_chunks_per_s": round(len(texts) / onnx_s, 1),
            "torch_sample_chunks": len(sample),
            "torch_s": round(torch_s, 2),
            "torch_chunks_per_s": round(len(sample) / torch_s, 1),
            "fast_path_on_same_sample_s": round(onnx_sample_s, 2),
            "fast_vs_torch_speedup": round(torch_s / onnx_sample_s, 2),
            "cosine_fast_vs_torch_min": round(float(cosines.min()), 4),
            "cosine_fast_vs_torch_median": round(float(statistics.median(cosines.tolist())), 4),
        },
        "end_to_end_over_pure_embedding": round(first_s / onnx_s, 2),
        "peak_rss_mb_during_ingest": round(peak_rss, 1),
    }
