"""Errors users can act on. Every message says what went wrong and how to fix it."""

from __future__ import annotations


def describe(exc: Exception) -> str:
    """One line for a pydantic ValidationError ("field.path: message; ..."), else the error's own text."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'input'}: {e['msg']}" for e in errors())
    return str(exc)


class CitewiseError(Exception):
    """Base class for errors shown to users (CLI message, API 4xx/5xx with the message).

    The taxonomy below says what kind of failure it is; `citewise.api.http.errors` maps each kind to one
    HTTP status in one place, and the CLI prints any of them as `error: <message>`.
    """


class InvalidInputError(CitewiseError, ValueError):
    """What the caller sent cannot be served (a bad argument, an unknown name, a malformed file or dataset)."""


class TooLargeError(InvalidInputError):
    """What the caller sent is over a configured size limit."""


class NotFoundError(CitewiseError):
    """The named thing does not exist, or is not visible to the caller (the two are not told apart)."""


class ConflictError(CitewiseError):
    """The request clashes with what exists (a name taken within the tenant)."""


class PermissionDeniedError(CitewiseError):
    """The caller is known but may not do this (e.g. an admin-only operation)."""


class UpstreamError(CitewiseError):
    """A service Citewise depends on failed or answered badly (an LLM endpoint, a source)."""


class UpstreamTimeoutError(UpstreamError):
    """That service did not answer in time."""


class TransientError(CitewiseError):
    """Worth retrying later unchanged: a lock held by another process, a server starting up."""


class SaturatedError(TransientError):
    """Every model server of a profile is at its concurrency limit (or cooling down): come back later.

    `retry_after` (seconds) becomes the HTTP `Retry-After` header."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(InvalidInputError):
    """A setting is wrong or a configured resource (model, path) is missing."""


class ModelMissingError(ConfigError):
    """A configured model cannot be found locally; nothing is ever downloaded at run time."""


class DocumentError(InvalidInputError):
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


class StorageFullError(TransientError):
    """The data dir has too little free space for the next write (checked before writing, not found out by
    a crash halfway)."""


class IndexLockedError(TransientError):
    """The index folder is owned by another process (embedded stores lock their folder)."""


class ProviderError(UpstreamError):
    """The model could not answer (unreachable, timed out, bad response)."""


class DatasetError(InvalidInputError):
    """A dataset file is missing or malformed."""
