"""Dense encoders behind one Protocol: the ONNX int8 fast path and the sentence-transformers reference.

Both produce L2-normalised mean-pooled all-MiniLM-L6-v2 vectors; heavy models load on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from citewise.errors import ConfigError
from citewise.settings import EmbeddingSettings
from retrieval.encoders.model_files import resolve_model_dir


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


class OnnxEncoder:
    """onnxruntime on an int8 export; ~2.5-3x sentence-transformers on 2 CPU cores."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_dir = resolve_model_dir(settings)
        self.model_id = f"{self.model_dir.name}:onnx-int8:{settings.max_seq_length}"
        self.dim = _model_dim(self.model_dir)
        self._session = None
        self._tokenizer = None

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from retrieval.encoders.onnx_export import onnx_model_path

        path = onnx_model_path(self.model_dir, self.settings.cache_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads(self.settings)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.no_padding()  # the shipped tokenizer.json pads to 128; we pad per batch ourselves
        tokenizer.enable_truncation(self.settings.max_seq_length)
        self._tokenizer = tokenizer

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if self._session is None:
            self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")  # similar lengths together: little padding
        bs = self.settings.batch_size
        for start in range(0, len(texts), bs):
            idx = order[start : start + bs]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, j in enumerate(idx):
                ids[row, : lengths[j]] = encodings[j].ids
                mask[row, : lengths[j]] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._input_names})[0]
            summed = (hidden * mask[..., None]).sum(axis=1)
            vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[idx] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


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


def load_dense_encoder(settings: EmbeddingSettings, backend: str | None = None) -> DenseEncoder:
    backend = backend or settings.backend
    if backend == "onnx":
        return OnnxEncoder(settings)
    if backend == "torch":
        return TorchEncoder(settings)
    raise ConfigError(f"unknown embedding backend {backend!r}; use onnx or torch")
