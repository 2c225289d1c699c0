"""Connector types by name: the built-ins and plugins, all through the `citewise.connectors` entry points.

A third-party package adds a connector by declaring, in its own pyproject.toml:
    [project.entry-points."citewise.connectors"]
    confluence = "my_pkg.confluence:ConfluenceConnector"
"""

from __future__ import annotations

import sys
from typing import Any

from citewise.connectors.base import Connector
from citewise.errors import ConfigError
from citewise.registry import Registry

GROUP = "citewise.connectors"
CONNECTORS: Registry = Registry("connector type", GROUP)


def available_connectors() -> dict[str, type[Connector]]:
    found: dict[str, type[Connector]] = {}
    for name in CONNECTORS.names():
        cls = CONNECTORS.get(name)
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise ConfigError(f"entry point {name!r} in {GROUP} does not name a Connector subclass")
        found[name] = cls
    return found


def create_connector(kind: str, **config: Any) -> Connector:
    connectors = available_connectors()
    if kind not in connectors:
        known = ", ".join(sorted(connectors)) or "none (is citewise installed?)"
        raise ConfigError(f"unknown connector type {kind!r}; available: {known}")
    return connectors[kind](**config)


def connector_types() -> dict[str, dict[str, Any]]:
    """Every installed type: its description, the JSON schema of its options, and which are credentials."""
    from citewise.connectors.credentials import secret_fields

    out = {}
    for name, cls in sorted(available_connectors().items()):
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or "").strip()
        out[name] = {
            "description": doc.split("\n\n")[0].replace("\n", " "),
            "schema": cls.Config.model_json_schema(),
            "secrets": sorted(secret_fields(cls.Config)),
        }
    return out
