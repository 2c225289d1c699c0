"""HTTP for vendor APIs (Confluence, Notion, ...): JSON GETs with the politeness every vendor documents.

- 429 and 503 wait for `Retry-After` (seconds or an HTTP date; exponential backoff without one), up to
  `max_retry_wait_s` per wait and `retries` times, then fail as transient (the job retries later); so does a
  403 that says the rate limit is used up (`x-ratelimit-remaining: 0`, waiting for `x-ratelimit-reset`, as
  GitHub sends it);
- 401 and 403 are configuration errors that say which (wrong credentials, or a missing permission/scope);
- 404 is `NotFoundError` (an item deleted between listing and reading);
- connection errors and timeouts are transient.
Nothing here logs a header: credentials travel only in the client's auth.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from citewise.errors import ConfigError, NotFoundError, TransientError


class _Reply:
    __slots__ = ("json_or_none", "next_url")

    def __init__(self, data: Any, next_url: str | None) -> None:
        self.json_or_none, self.next_url = data, next_url


class VendorHTTP:
    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 30.0,
        retries: int = 4,
        max_retry_wait_s: float = 60.0,
    ) -> None:
        self.name, self.retries, self.max_wait = name, retries, max_retry_wait_s
        self.client = httpx.Client(base_url=base_url.rstrip("/"), auth=auth, headers=headers or {}, timeout=timeout_s)
        self.waited_s = 0.0  # time spent honouring Retry-After, for reports and tests

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.send(method, url, **kwargs).json_or_none

    def send(self, method: str, url: str, **kwargs: Any) -> _Reply:
        for attempt in range(self.retries + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
                if attempt == self.retries:
                    raise TransientError(f"{self.name}: cannot reach {self.client.base_url}: {exc}") from None
                time.sleep(min(2**attempt, self.max_wait))
                continue
            status = response.status_code
            used_up = (
                status == 403
                and (
                    response.headers.get("x-ratelimit-remaining") == "0"  # GitHub
                    or "ratelimitexceeded" in response.text[:2000].lower()  # Google's (user)RateLimitExceeded
                )
            )
            if status in (429, 502, 503, 504) or used_up:
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait is None and used_up and response.headers.get("x-ratelimit-reset", "").isdigit():
                    wait = max(0.0, int(response.headers["x-ratelimit-reset"]) - time.time())
                wait = min(2**attempt if wait is None else wait, self.max_wait)
                if attempt == self.retries:
                    raise TransientError(f"{self.name}: still {status} after {self.retries} retries")
                self.waited_s += wait
                time.sleep(wait)
                continue
            if status == 401:
                raise ConfigError(f"{self.name}: the credentials were refused (401); check the token")
            if status == 403:
                raise ConfigError(f"{self.name}: permission denied for {url.split('?')[0]} (403); check the scopes")
            if status in (404, 410):
                raise NotFoundError(f"{self.name}: {url.split('?')[0]} not found")
            if status >= 400:
                raise ConfigError(f"{self.name}: {method} {url.split('?')[0]} answered {status}: {response.text[:200]}")
            return _Reply(response.json() if response.content else None, response.links.get("next", {}).get("url"))
        raise AssertionError("unreachable")

    def get(self, url: str, **params: Any) -> Any:
        return self.request("GET", url, params={k: v for k, v in params.items() if v is not None} or None)

    def pages(self, url: str, **params: Any) -> Any:
        """Every item of a list endpoint paginated by `Link: <...>; rel="next"` headers (GitHub style)."""
        reply = self.send("GET", url, params={k: v for k, v in params.items() if v is not None} or None)
        while True:
            yield from reply.json_or_none or []
            if not reply.next_url:
                return
            reply = self.send("GET", reply.next_url)

    def download(self, url: str, max_bytes: int, *, presigned: bool = False) -> bytes:
        """A file's bytes (redirects followed, e.g. to a pre-authenticated download URL), at most max_bytes.
        `presigned`: a URL signed for another host (Notion's S3 files): fetched without this client's
        credentials, which must not leave the vendor."""
        if presigned:
            with httpx.Client(timeout=self.client.timeout) as bare:
                return self._read(bare, url, max_bytes)
        return self._read(self.client, url, max_bytes)

    def _read(self, client: httpx.Client, url: str, max_bytes: int) -> bytes:
        with client.stream("GET", url, follow_redirects=True) as response:
            if response.status_code in (404, 410):
                raise NotFoundError(f"{self.name}: {url.split('?')[0]} not found")
            if response.status_code >= 400:
                raise TransientError(f"{self.name}: download answered {response.status_code}")
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if len(body) > max_bytes:
                    raise ConfigError(f"{self.name}: the file is over max_bytes ({max_bytes:,})")
            return bytes(body)

    def post(self, url: str, body: dict) -> Any:
        return self.request("POST", url, json=body)

    def __enter__(self) -> VendorHTTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class OAuthBearer(httpx.Auth):
    """A bearer token from an OAuth 2.0 token endpoint (client credentials, a JWT bearer grant), fetched
    again a minute before it expires and once after a 401. Subclasses say what to post (`token_request`)."""

    name = "oauth"
    hint = ""  # what to check when the sign-in is refused

    def __init__(self, timeout_s: float) -> None:
        self.timeout, self.token, self.expires = timeout_s, "", 0.0

    def token_request(self) -> tuple[str, dict[str, str]]:
        """The token endpoint and the form to post to it."""
        raise NotImplementedError

    def refresh(self) -> None:
        url, form = self.token_request()
        try:
            response = httpx.post(url, data=form, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.name}: cannot reach the sign-in service: {type(exc).__name__}") from None
        if response.status_code != 200:
            error = (response.json() if response.content else {}).get("error", str(response.status_code))
            raise ConfigError(f"{self.name}: could not sign in ({error}){'; ' + self.hint if self.hint else ''}")
        data = response.json()
        self.token, self.expires = data["access_token"], time.time() + int(data.get("expires_in", 3600)) - 60

    def auth_flow(self, request: httpx.Request):  # noqa: ANN201
        if not self.token or time.time() >= self.expires:
            self.refresh()
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:  # expired early or revoked: once more with a new token
            self.refresh()
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request
