"""Registries: built-ins imported on first use, entry-point plugins, and clear errors for unknown names."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

import citewise.registry as registry_module
from citewise.errors import ConfigError
from citewise.registry import Registry


def test_builtins_load_lazily_and_unknown_names_list_the_choices():
    reg = Registry("widget", "citewise.test-widgets", {"json": "json:dumps", "path": "os.path:join"})
    assert "json" in reg and reg.names() == ["json", "path"]
    assert reg.get("json")({"a": 1}) == '{"a": 1}'
    with pytest.raises(ConfigError, match=r"unknown widget 'xml'; choose one of: json, path"):
        reg.get("xml")


def test_attribute_paths_and_direct_registration():
    reg = Registry("widget", "citewise.test-widgets", {"loads": "json:JSONDecoder.decode"})
    assert reg.get("loads").__name__ == "decode"
    reg.register("upper", str.upper)
    assert reg.create("upper", "abc") == "ABC"


def test_third_party_entry_points_are_found(monkeypatch):
    fake = [EntryPoint(name="shout", value="builtins:str.upper", group="citewise.test-widgets")]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [e for e in fake if e.group == group])
    reg = Registry("widget", "citewise.test-widgets", {"json": "json:dumps"})
    assert reg.names() == ["json", "shout"] and reg.get("shout")("x") == "X"


def test_a_builtin_is_not_imported_until_asked_for():
    reg = Registry("reranker", "citewise.test-widgets", {"ghost": "citewise_no_such_module:Reranker"})
    assert reg.names() == ["ghost"]  # listing imports nothing (the module does not even exist)
    with pytest.raises(ModuleNotFoundError):
        reg.get("ghost")


def test_every_builtin_registry_resolves():
    from citewise.api.orchestration.guardrails import GUARDRAILS
    from citewise.api.orchestration.providers import PROVIDERS
    from citewise.connectors.registry import CONNECTORS
    from citewise.retrieval.encoders.dense import ENCODERS
    from citewise.retrieval.rerank.base import RERANKERS
    from citewise.retrieval.stores.factory import STORES

    for reg in (GUARDRAILS, PROVIDERS, CONNECTORS, ENCODERS, RERANKERS, STORES):
        assert reg.names(), reg.kind
        for name in reg.names():
            assert callable(reg.get(name)), (reg.kind, name)
