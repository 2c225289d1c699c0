from pathlib import Path

from citewise.settings import Settings


def test_env_nested_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CITEWISE_INDEX__BACKEND", "qdrant")
    monkeypatch.setenv("CITEWISE_INDEX__API_KEY", "s3cret")
    monkeypatch.setenv("CITEWISE_CHUNKING__MAX_TOKENS", "128")
    s = Settings()
    assert s.data_dir == tmp_path
    assert s.index.backend == "qdrant"
    assert s.chunking.max_tokens == 128
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())
    assert s.db_url == f"sqlite:///{(tmp_path / 'citewise.db').resolve()}"


def test_defaults_and_chunk_cap():
    s = Settings(chunking={"max_tokens": 9999})
    assert s.data_dir == Path(".citewise")
    assert s.index.backend == "edge"
    assert s.chunking.max_tokens == s.embedding.max_seq_length
