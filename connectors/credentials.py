"""Connector credentials, encrypted at rest with Fernet (the `cryptography` package).

The key comes from `security.secret_keys` (newest first; every listed key decrypts, the first encrypts) or
from a key file (`security.secret_key_file`, default `<data_dir>/secret.key`, created 0600 on first use).
Which config options are credentials is declared by the connector's config model: its `SecretStr` fields.
`redactor` gives a function that blanks every credential value out of a message, for errors and job rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, SecretStr

from citewise.errors import ConfigError
from citewise.settings import Settings

MASK = "***"


def secret_fields(model: type[BaseModel]) -> set[str]:
    """The options of a config model that are credentials (typed SecretStr, optional or not)."""
    names = set()
    for name, info in model.model_fields.items():
        annotation = str(info.annotation)
        if info.annotation is SecretStr or "SecretStr" in annotation:
            names.add(name)
    return names


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigError("no key to encrypt connector credentials with")
        try:
            self.fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as exc:
            raise ConfigError(
                "security.secret_keys: a key is not a Fernet key (32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from exc

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretBox:
        keys = [k.get_secret_value().encode() for k in settings.security.secret_keys]
        if not keys:
            keys = [_key_file(settings.security.secret_key_file or settings.data_dir / "secret.key")]
        return cls(keys)

    def seal(self, values: dict[str, Any]) -> str:
        if not values:
            return ""
        plain = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in values.items()}
        return self.fernet.encrypt(json.dumps(plain).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            return json.loads(self.fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ConfigError(
                "stored connector credentials cannot be decrypted with the configured keys "
                "(was security.secret_keys changed without keeping the old key?)"
            ) from exc

    def rotate(self, token: str) -> str:
        """The same values under the newest key."""
        return self.fernet.rotate(token.encode()).decode() if token else ""


def _key_file(path: Path) -> bytes:
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


def redactor(values: dict[str, Any]) -> Callable[[str], str]:
    """A function that replaces every credential value (and its URL-encoded form) in a text with ***."""
    from urllib.parse import quote

    secrets = set()
    for value in values.values():
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")
        if len(raw) >= 3:
            secrets |= {raw, quote(raw, safe="")}

    def redact(text: str) -> str:
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    return redact
