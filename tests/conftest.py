"""Shared fixtures. Heavy things (tokenizer, ONNX encoder) load once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from citewise.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = FIXTURES / "docs"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def tokenizer():
    from retrieval.encoders.model_files import load_tokenizer, resolve_model_dir

    return load_tokenizer(resolve_model_dir(Settings().embedding))


@pytest.fixture(scope="session")
def encoder():
    from retrieval.encoders.dense import OnnxEncoder

    enc = OnnxEncoder(Settings().embedding)
    enc.embed_query("warm up")
    return enc
