"""Versioned prompt templates: `NAME.txt` in this folder, a `### system` part and a `### user` part."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from citewise.errors import ConfigError

PROMPTS = Path(__file__).parent


@cache
def load_template(name: str) -> tuple[str, str]:
    """(system, user) of template `name`; the user part has {sources} and {question} slots."""
    path = PROMPTS / f"{name}.txt"
    if not path.is_file():
        raise ConfigError(f"prompt template {path} not found")
    system, _, user = path.read_text(encoding="utf-8").partition("### user\n")
    return system.removeprefix("### system\n").strip(), user.strip()
