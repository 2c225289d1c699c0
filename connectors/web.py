"""A website: a start URL crawled within its site, or the pages a sitemap lists.

- Same site only (scheme, host and port of the start URL), breadth first to `max_depth` links, at most
  `max_pages`; `include`/`exclude` are regular expressions on the URL; `robots.txt` is obeyed.
- Main content only: HTML pages go through trafilatura (navigation, footers and boilerplate removed) and
  are indexed as Markdown; other files (PDF, DOCX, ...) are indexed as files.
- Incremental: a page's ETag and Last-Modified are kept as its version and sent back (If-None-Match,
  If-Modified-Since); a 304 is listed, not fetched. The version also keeps the page's links, so the crawl
  goes on through unchanged pages. Pages that answer 404/410 or are no longer linked leave the index.
- Polite: `delay_s` between requests, a timeout per request, 429/503 retried honouring Retry-After (up to
  `max_retry_wait_s`), redirects followed up to `max_redirects` (a loop is reported, not followed forever),
  bodies read up to `max_bytes`.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser
from xml.etree import ElementTree

import httpx
from pydantic import Field, model_validator

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    LoadConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    parse_config,
)
from citewise.errors import ConfigError
from citewise.models import RawDocument

_HREF = re.compile(rb"""<a\s[^>]*?href\s*=\s*["']([^"'#]+)""", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class WebConfig(ConnectorConfig):
    start_url: str | None = Field(None, description="crawl from this page, within its site")
    sitemap_url: str | None = Field(None, description="or index the pages this sitemap.xml lists")
    max_depth: int = Field(2, ge=0, le=20, description="links followed from the start page")
    max_pages: int = Field(1000, ge=1, description="pages fetched at most per sync")
    include: TextList = Field(default_factory=list, description="regular expressions: only matching URLs")
    exclude: TextList = Field(default_factory=list, description="regular expressions: URLs never fetched")
    respect_robots: bool = Field(True, description="obey robots.txt")
    user_agent: str = "CitewiseBot/0.1"
    delay_s: float = Field(0.0, ge=0, description="pause between requests")
    timeout_s: float = Field(15.0, gt=0, description="per request")
    max_bytes: int = Field(5_000_000, ge=1, description="larger pages are reported, not read")
    max_redirects: int = Field(5, ge=0)
    max_retry_wait_s: float = Field(30.0, ge=0, description="longest Retry-After honoured")

    @model_validator(mode="after")
    def _one_start(self) -> WebConfig:
        if bool(self.start_url) == bool(self.sitemap_url):
            raise ValueError("give start_url or sitemap_url")
        for pattern in (*self.include, *self.exclude):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from exc
        return self


class _Skip(Exception):
    """A URL that yields nothing: gone (404/410), disallowed or not a page."""


class WebConnector(LoadConnector, VersionedConnector):
    kind = "web"
    Config = WebConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: WebConfig = parse_config(WebConfig, config, self.kind)
        first = self.cfg.start_url or self.cfg.sitemap_url or ""
        parts = urlsplit(first)
        self.site = (parts.scheme, parts.netloc)
        self._robots: RobotFileParser | None = None
        self._last_request = 0.0

    @property
    def source_id(self) -> str:
        return f"web:{self.cfg.start_url or self.cfg.sitemap_url}"

    def _client(self) -> httpx.Client:
        return httpx.Client(
            follow_redirects=True,
            max_redirects=self.cfg.max_redirects,
            timeout=self.cfg.timeout_s,
            headers={"User-Agent": self.cfg.user_agent},
        )

    def validate(self) -> None:
        with self._client() as client:
            url = self.cfg.start_url or self.cfg.sitemap_url or ""
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                raise ConfigError(f"web: cannot fetch {url}: {type(exc).__name__}: {exc}") from None
            if response.status_code >= 400:
                raise ConfigError(f"web: {url} answered {response.status_code}")

    # -- the crawl -------------------------------------------------------------------------------------------

    def _same_site(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self.site

    def _wanted(self, url: str) -> bool:
        if not self._same_site(url):
            return False
        if self.cfg.include and not any(re.search(p, url) for p in self.cfg.include):
            return False
        return not any(re.search(p, url) for p in self.cfg.exclude)

    def _allowed(self, client: httpx.Client, url: str) -> bool:
        if not self.cfg.respect_robots:
            return True
        if self._robots is None:
            self._robots = RobotFileParser()
            try:
                response = client.get(f"{self.site[0]}://{self.site[1]}/robots.txt")
                lines = response.text.splitlines() if response.status_code == 200 else []
            except httpx.HTTPError:
                lines = []
            self._robots.parse(lines)
        return self._robots.can_fetch(self.cfg.user_agent, url)

    def _seeds(self, client: httpx.Client) -> list[str]:
        if self.cfg.start_url:
            return [self.cfg.start_url]
        response = client.get(self.cfg.sitemap_url or "")
        response.raise_for_status()
        root = ElementTree.fromstring(response.content)
        return [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        with self._client() as client:
            try:
                seeds = self._seeds(client)
            except (httpx.HTTPError, ElementTree.ParseError) as exc:
                raise ConfigError(f"web: cannot read the sitemap: {exc}") from None
            depth_limit = self.cfg.max_depth if self.cfg.start_url else 0
            queue = deque((urldefrag(u)[0], 0) for u in seeds)
            queued = {u for u, _ in queue}
            fetched = 0
            while queue and fetched < self.cfg.max_pages:
                url, depth = queue.popleft()
                if not self._wanted(url) or not self._allowed(client, url):
                    continue
                fetched += 1
                try:
                    item, links = self._fetch(client, url)
                except _Skip:
                    continue
                yield item
                if depth < depth_limit:
                    for link in links:
                        if link not in queued:
                            queued.add(link)
                            queue.append((link, depth + 1))

    def _get(self, client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
        """One GET, read up to max_bytes; 429/503 wait for Retry-After and try again (twice at most)."""
        for attempt in range(3):
            wait = self.cfg.delay_s - (time.monotonic() - self._last_request)
            if wait > 0:
                time.sleep(wait)
            self._last_request = time.monotonic()
            with client.stream("GET", url, headers=headers) as response:
                if response.status_code in (429, 503) and attempt < 2:
                    retry = _retry_after(response.headers.get("Retry-After"))
                    if retry is not None and retry <= self.cfg.max_retry_wait_s:
                        time.sleep(retry)
                        continue
                body = bytearray()
                for piece in response.iter_bytes():
                    body += piece
                    if len(body) > self.cfg.max_bytes:
                        raise _TooLarge(len(body))
                response._content = bytes(body)
                return response
        raise AssertionError("unreachable")

    def _fetch(self, client: httpx.Client, url: str) -> tuple[RawDocument | FailedItem | UnchangedItem, list[str]]:
        known = _state(getattr(self, "known_versions", {}).get(url))
        headers = {}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("modified"):
            headers["If-Modified-Since"] = known["modified"]
        try:
            response = self._get(client, url, headers)
        except _TooLarge as exc:
            return FailedItem(key=url, uri=url, error=f"the page is over max_bytes ({exc.args[0]:,}+ bytes)"), []
        except httpx.TooManyRedirects:
            return FailedItem(key=url, uri=url, error=f"more than {self.cfg.max_redirects} redirects (a loop?)"), []
        except httpx.TimeoutException:
            return FailedItem(key=url, uri=url, error=f"no answer within {self.cfg.timeout_s:g} s"), []
        except httpx.HTTPError as exc:
            return FailedItem(key=url, uri=url, error=f"{type(exc).__name__}: {exc}"), []
        if response.status_code == 304 and known:
            return UnchangedItem(key=url, uri=url), list(known.get("links", []))
        if response.status_code in (404, 410):
            raise _Skip(url)
        if response.status_code >= 400:
            return FailedItem(key=url, uri=url, error=f"HTTP {response.status_code}"), []
        final = urldefrag(str(response.url))[0]
        if final != url and not self._same_site(final):
            raise _Skip(url)  # redirected off the site
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        links = _links(response.content, final) if "html" in content_type else []
        links = [link for link in links if self._wanted(link)]
        state = {"etag": response.headers.get("ETag"), "modified": response.headers.get("Last-Modified")}
        version = json.dumps({**state, "links": links, "acl": self.acl}, sort_keys=True)
        modified = _date(state["modified"])
        if "html" in content_type:
            import trafilatura

            markdown = trafilatura.extract(response.content, url=final, output_format="markdown", include_tables=True)
            title = _title(response.content) or final
            if not markdown:
                return FailedItem(key=url, uri=url, error="no main content found on the page"), links
            content, filename = f"# {title}\n\n{markdown}".encode(), "page.md"
        else:
            content, filename = response.content, final.rstrip("/").rsplit("/", 1)[-1] or "index"
            title = filename
        doc = RawDocument(
            source_id=self.source_id, key=url, uri=url, title=title, content=content, mime_type=content_type,
            modified_at=modified, version=version, acl=self.acl,
            metadata={"filename": filename, "url": final, "size_bytes": len(response.content)},
        )  # fmt: skip
        return doc, links

    def unchanged(self, uri: str, version: str | None) -> bool:  # the crawl asks the server instead
        return False


class _TooLarge(Exception):
    pass


def _state(version: str | None) -> dict:
    try:
        return json.loads(version) if version else {}
    except ValueError:
        return {}


def _links(html: bytes, base: str) -> list[str]:
    out = []
    for match in _HREF.finditer(html):
        href = match.group(1).decode(errors="ignore").strip()
        if href.startswith(("mailto:", "javascript:", "tel:")):
            continue
        out.append(urldefrag(urljoin(base, href))[0])
    return list(dict.fromkeys(out))


def _title(html: bytes) -> str:
    import html as htmllib

    found = _TITLE.search(html[:200_000])
    return htmllib.unescape(" ".join(found.group(1).decode(errors="ignore").split())) if found else ""


def _date(value: str | None) -> Any:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = _date(value)
        return max(0.0, when.timestamp() - time.time()) if when else None
