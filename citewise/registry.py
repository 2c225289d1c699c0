"""Name -> factory registries: how encoders, stores, rerankers, LLM providers, guardrails and connectors
are found, so adding one is one new module plus one registration line, never an edit to an `if` chain.

Built-ins are named as "module:attribute" strings and imported on first use, so a registry costs nothing
until a name is asked for (the cross-encoder never imports torch unless chosen). Third-party packages add
entries through the registry's entry-point group, e.g. in their pyproject.toml:

    [project.entry-points."citewise.rerankers"]
    my-reranker = "my_pkg.rerank:MyReranker"
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from citewise.errors import ConfigError

T = TypeVar("T")


def load_target(target: str) -> object:
    module, _, attr = target.partition(":")
    obj: object = import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """One kind of pluggable part. `get(name)` returns the registered factory (often a class)."""

    def __init__(self, kind: str, group: str, builtins: dict[str, str] | None = None) -> None:
        self.kind = kind  # in messages: "unknown reranker 'x'; choose one of: ..."
        self.group = group  # the entry-point group third-party packages register under
        self._targets: dict[str, str | T] = dict(builtins or {})
        self._loaded: dict[str, T] = {}
        self._plugins_read = False
        self._lock = threading.Lock()

    def register(self, name: str, target: str | T) -> None:
        """Add or replace an entry ("module:attr" or the factory itself)."""
        with self._lock:
            self._targets[name] = target
            self._loaded.pop(name, None)

    def _read_plugins(self) -> None:
        if self._plugins_read:
            return
        for ep in entry_points(group=self.group):
            self._targets.setdefault(ep.name, ep.value)
        self._plugins_read = True

    def names(self) -> list[str]:
        with self._lock:
            self._read_plugins()
            return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def get(self, name: str) -> T:
        with self._lock:
            self._read_plugins()
            if name in self._loaded:
                return self._loaded[name]
            if name not in self._targets:
                known = ", ".join(sorted(self._targets)) or "none"
                raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: {known}")
            target = self._targets[name]
            found = load_target(target) if isinstance(target, str) else target
            self._loaded[name] = found  # type: ignore[assignment]
            return found  # type: ignore[return-value]

    def create(self, name: str, *args: object, **kwargs: object) -> object:
        factory: Callable[..., object] = self.get(name)  # type: ignore[assignment]
        return factory(*args, **kwargs)
