"""sentence-transformers CrossEncoder over (query, title + chunk) pairs, for users who have a trained model."""

from __future__ import annotations

from pathlib import Path

from citewise.errors import ConfigError, ModelMissingError
from citewise.retrieval.stores.base import ScoredPoint
from citewise.settings import RetrievalSettings


class CrossEncoderReranker:
    name = "cross-encoder"

    def __init__(self, model: str, *, batch_size: int = 16, max_length: int = 512) -> None:
        self.model_ref = model
        self.batch_size = batch_size
        self.max_length = max_length
        self._model = None

    @classmethod
    def from_settings(cls, settings: RetrievalSettings) -> CrossEncoderReranker:
        if not settings.cross_encoder_model:
            raise ConfigError(
                "the cross-encoder reranker needs a model: set CITEWISE_RETRIEVAL__CROSS_ENCODER_MODEL to a local "
                "folder holding a sentence-transformers CrossEncoder (e.g. ms-marco-MiniLM-L-6-v2)"
            )
        return cls(settings.cross_encoder_model, batch_size=settings.cross_encoder_batch_size)

    def _load(self) -> None:
        import os

        from sentence_transformers import CrossEncoder

        path = Path(self.model_ref).expanduser()
        looks_like_path = path.is_absolute() or self.model_ref.startswith((".", "~")) or path.exists()
        if looks_like_path and not (path / "config.json").is_file():
            raise ModelMissingError(
                f"cross-encoder model not found at {path} (no config.json); point "
                "CITEWISE_RETRIEVAL__CROSS_ENCODER_MODEL at a folder saved with CrossEncoder.save()"
            )
        try:
            self._model = CrossEncoder(
                str(path) if looks_like_path else self.model_ref, device="cpu", max_length=self.max_length
            )
        except OSError as exc:  # a hub name with no network and no local cache
            offline = os.environ.get("HF_HUB_OFFLINE") == "1"
            raise ModelMissingError(
                f"cross-encoder model {self.model_ref!r} could not be loaded"
                + (" (offline: hub names only work when cached)" if offline else "")
                + "; set CITEWISE_RETRIEVAL__CROSS_ENCODER_MODEL to a local model folder"
            ) from exc

    def run(self, query: str, candidates: list[ScoredPoint], *, language: str | None = None) -> list[ScoredPoint]:
        if not candidates:
            return candidates
        if self._model is None:
            self._load()
        pairs = [(query, _passage(c)) for c in candidates]
        scores = self._model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        for c, s in zip(candidates, scores, strict=True):
            c.scores["rerank"] = c.score = float(s)
        return sorted(candidates, key=lambda c: c.score, reverse=True)


def _passage(point: ScoredPoint) -> str:
    title = point.payload.title
    text = point.payload.text
    return f"{title}\n{text}" if title else text
