"""Errors users can act on. Every message says what went wrong and how to fix it."""

from __future__ import annotations


def describe(exc: Exception) -> str:
    """One line for a pydantic ValidationError ("field.path: message; ..."), else the error's own text."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'input'}: {e['msg']}" for e in errors())
    return str(exc)


class CitewiseError(Exception):
    """Base class for errors shown to users (CLI message, API 4xx)."""


class ConfigError(CitewiseError):
    """A setting is wrong or a configured resource (model, path) is missing."""


class ModelMissingError(ConfigError):
    """A configured model cannot be found locally; nothing is ever downloaded at run time."""


class DocumentError(CitewiseError):
    """One document cannot be ingested. The batch goes on without it.

    `kind` is a short stable class name (for reports and metrics); the message is the actionable text.
    """

    kind = "document_error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind:
            self.kind = kind

    def __str__(self) -> str:  # "kind: message" is what reports show
        return f"{self.kind}: {self.args[0]}"


class UnsupportedFormatError(DocumentError):
    kind = "unsupported_format"


class LegacyFormatError(DocumentError):
    kind = "legacy_format"


class EncryptedDocumentError(DocumentError):
    kind = "encrypted"


class NoTextLayerError(DocumentError):
    kind = "no_text_layer"


class EmptyDocumentError(DocumentError):
    kind = "empty"


class CorruptDocumentError(DocumentError):
    kind = "corrupt"


class DocumentTooLargeError(DocumentError):
    kind = "too_large"


class IndexLockedError(CitewiseError):
    """The index folder is owned by another process (embedded stores lock their folder)."""
