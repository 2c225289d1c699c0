"""Connector plugins, found through the `citewise.connectors` entry-point group.

A third-party package adds a connector by declaring, in its own pyproject.toml:
    [project.entry-points."citewise.connectors"]
    confluence = "my_pkg.confluence:ConfluenceConnector"
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from citewise.errors import ConfigError
from connectors.base import Connector

GROUP = "citewise.connectors"


def available_connectors() -> dict[str, type[Connector]]:
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise ConfigError(f"entry point {ep.name!r} in {GROUP} does not name a Connector subclass")
        found[ep.name] = cls
    return found


def create_connector(kind: str, **config: Any) -> Connector:
    connectors = available_connectors()
    if kind not in connectors:
        known = ", ".join(sorted(connectors)) or "none (is citewise installed?)"
        raise ConfigError(f"unknown connector type {kind!r}; available: {known}")
    return connectors[kind](**config)
