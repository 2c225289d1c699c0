"""The error taxonomy maps to HTTP status codes in one table; the nearest class in an error's MRO wins."""

from __future__ import annotations

import pytest

from citewise import errors as e
from citewise.api.http.errors import status_of


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (e.InvalidInputError("x"), 422, "invalid_request_error"),
        (e.DatasetError("x"), 422, "invalid_request_error"),
        (e.ConfigError("x"), 400, "invalid_request_error"),
        (e.ModelMissingError("x"), 400, "invalid_request_error"),
        (e.LegacyFormatError("x"), 422, "legacy_format"),
        (e.TooLargeError("x"), 413, "too_large"),
        (e.NotFoundError("x"), 404, "not_found"),
        (e.ConflictError("x"), 409, "conflict"),
        (e.PermissionDeniedError("x"), 403, "permission_error"),
        (e.ProviderError("x"), 502, "provider_error"),
        (e.UpstreamTimeoutError("x"), 504, "upstream_timeout"),
        (e.UpstreamError("x"), 502, "upstream_error"),
        (e.IndexLockedError("x"), 503, "index_locked"),
        (e.TransientError("x"), 503, "unavailable"),
        (e.CitewiseError("x"), 400, "citewise_error"),
    ],
)
def test_each_kind_of_error_has_one_status(exc, status, kind):
    assert status_of(exc) == (status, kind)


def test_invalid_input_is_also_a_value_error():
    assert isinstance(e.InvalidInputError("x"), ValueError)
