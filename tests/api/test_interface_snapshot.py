"""The public interface stays put: the OpenAPI spec and the CLI's commands and options equal a snapshot.

The snapshot was taken before the "one house" restructure; a deliberate interface change regenerates it with
`CITEWISE_UPDATE_SNAPSHOTS=1 pytest tests/api/test_interface_snapshot.py` and shows up in review as a diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer

from citewise.api.cli.main import app as cli_app
from citewise.api.http.app import create_app
from citewise.settings import Settings
from tests.conftest import FIXTURES

SNAPSHOTS = FIXTURES / "snapshots"


def cli_tree() -> dict:
    """Every command path with its help and parameters (names, flags, types, defaults, help)."""
    out: dict = {}

    def walk(cmd, path: str) -> None:  # noqa: ANN001 - typer's own click command classes
        params = [
            {
                "name": p.name,
                "opts": list(p.opts) + list(p.secondary_opts),
                "kind": type(p).__name__,
                "type": str(p.type_descriptor.annotation),
                "range": [getattr(p, "min", None), getattr(p, "max", None)],
                "flag": getattr(p, "is_flag", False),
                "required": p.required,
                "multiple": p.multiple,
                "default": None if callable(p.default) else (str(p.default) if p.default is not None else None),
                "help": getattr(p, "help", None),
            }
            for p in cmd.params
        ]
        out[path or "citewise"] = {"help": (cmd.help or "").strip(), "params": params}
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(cli_app), "")
    return out


def _check(name: str, current: dict) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("CITEWISE_UPDATE_SNAPSHOTS") == "1":
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"wrote {path}")
    assert current == json.loads(path.read_text()), f"{name} changed; see the module docstring"


def test_openapi_spec_unchanged(tmp_path: Path):
    spec = create_app(Settings(data_dir=tmp_path / "data")).openapi()
    _check("openapi.json", json.loads(json.dumps(spec)))


def test_cli_commands_and_options_unchanged():
    _check("cli.json", cli_tree())
