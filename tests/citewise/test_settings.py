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


def test_profiles_are_typed_per_provider_and_fail_when_settings_load(monkeypatch):
    import pytest
    from pydantic import ValidationError

    from citewise.settings import ExtractiveProfile, LlamaCppProfile, OpenAIProfile, PluginProfile

    monkeypatch.setenv(
        "CITEWISE_CHAT__PROFILES",
        '[{"name": "citewise"}, {"name": "gpu", "provider": "openai", "base_url": "http://127.0.0.1:8080/v1"},'
        ' {"name": "local", "provider": "llamacpp", "model_path": "/m.gguf"}, {"name": "x", "provider": "acme-llm",'
        ' "region": "eu"}]',
    )
    kinds = [type(p) for p in Settings().chat.profiles]
    assert kinds == [ExtractiveProfile, OpenAIProfile, LlamaCppProfile, PluginProfile]
    monkeypatch.setenv("CITEWISE_CHAT__PROFILES", '[{"name": "gpu", "provider": "openai"}]')
    with pytest.raises(ValidationError, match="base_url"):
        Settings()
    monkeypatch.setenv("CITEWISE_CHAT__PROFILES", '[{"name": "gpu", "provider": "openai", "base_url": "x", "bse": 1}]')
    with pytest.raises(ValidationError, match="bse"):  # a misspelt option is not silently ignored
        Settings()
    # a fallback is checked against its own provider's model: llamacpp needs a model_path the profile lacks
    monkeypatch.setenv(
        "CITEWISE_CHAT__PROFILES", '[{"name": "gpu", "provider": "openai", "base_url": "x", "fallback": ["llamacpp"]}]'
    )
    with pytest.raises(ValidationError, match="model_path"):
        Settings()
