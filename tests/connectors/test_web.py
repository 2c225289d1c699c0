"""The web connector against a site on a local HTTP server: the conformance suite (through a sitemap),
a crawl with depth, include/exclude and robots.txt, main-content extraction, and the hostile pages."""

from __future__ import annotations

import pytest

from citewise.connectors.base import FailedItem, UnchangedItem
from citewise.connectors.web import WebConnector
from citewise.errors import ConfigError
from tests.connectors.conformance import START, ConnectorConformance
from tests.connectors.site import Site


class Sitemap:
    supports_acl = False

    def __init__(self) -> None:
        self.site = Site()
        for key, text in START.items():
            self.put(key, text)

    def connector(self) -> WebConnector:
        return WebConnector(sitemap_url=f"{self.site.url}/sitemap.xml")

    def put(self, key: str, text: str) -> None:
        self.site.page(f"/docs/{key}", key.split(".")[0].title(), text)

    def remove(self, key: str) -> None:
        del self.site.pages[f"/docs/{key}"]


class TestWebConformance(ConnectorConformance):
    @pytest.fixture
    def source(self):
        source = Sitemap()
        yield source
        source.site.close()


@pytest.fixture
def site():
    s = Site()
    s.page(
        "/",
        "Handbook",
        "Welcome to the handbook.",
        ["/leave", "/travel", "/private/pay", "/loop", "/gone", "/huge", "/slow", "/drafts/x", "https://example.org/"],
    )
    s.page("/leave", "Leave", "Employees get 27 days of paid leave per year.", ["/leave/carry-over"])
    s.page("/leave/carry-over", "Carry-over", "Five days may be carried over.", ["/leave/deeper"])
    s.page("/leave/deeper", "Deeper", "Too deep to be crawled at depth two.")
    s.page("/travel", "Travel", "Hotels are reimbursed up to 160 euros a night.")
    s.page("/private/pay", "Pay", "Salary bands are secret.")
    s.page("/drafts/x", "Draft", "An unfinished draft.")
    yield s
    s.close()


def _crawl(site: Site, **options) -> dict[str, object]:
    connector = WebConnector(start_url=site.url + "/", timeout_s=1.0, max_bytes=1_000_000, **options)
    return {item.key.removeprefix(site.url): item for item in connector.load()}


def test_a_crawl_keeps_to_the_site_the_depth_robots_and_patterns(site):
    items = _crawl(site, max_depth=2, exclude=[r"/drafts/"])
    pages = {k for k, v in items.items() if not isinstance(v, FailedItem)}
    assert pages == {"/", "/leave", "/leave/carry-over", "/travel"}
    assert not any(p.startswith("/private") for p, _ in site.requests)  # robots.txt: never fetched
    assert not any(p.startswith("/drafts") for p, _ in site.requests) and "/leave/deeper" not in items
    failed = {k: v.error for k, v in items.items() if isinstance(v, FailedItem)}
    assert "redirects" in failed["/loop"] and "max_bytes" in failed["/huge"] and "no answer" in failed["/slow"]
    assert "/gone" not in items  # a 404 yields nothing: a page that was indexed leaves the index
    leave = items["/leave"].content.decode()
    assert leave.startswith("# Leave") and "27 days" in leave and "Copyright" not in leave and "Contact" not in leave


def test_unchanged_pages_answer_304_and_the_crawl_goes_on_through_them(site):
    first = _crawl(site, max_depth=1, include=[r"/$", r"/leave$", r"/travel$"])
    connector = WebConnector(start_url=site.url + "/", max_depth=1, include=[r"/$", r"/leave$", r"/travel$"])
    connector.set_known_versions({d.uri: d.version for d in first.values() if not isinstance(d, FailedItem)})
    site.page("/travel", "Travel", "Hotels are reimbursed up to 170 euros a night.")
    again = {i.key.removeprefix(site.url): i for i in connector.load()}
    assert isinstance(again["/"], UnchangedItem) and isinstance(again["/leave"], UnchangedItem)
    assert "170 euros" in again["/travel"].content.decode()
    assert ("/", "304") in site.requests


def test_retry_after_is_honoured(site):
    site.busy_once.add("/travel")
    items = _crawl(site, max_depth=1, include=[r"/$", r"/travel$"])
    assert "160 euros" in items["/travel"].content.decode()
    assert [s for p, s in site.requests if p == "/travel"] == ["429", "200"]


def test_validate_and_config_errors():
    with pytest.raises(ConfigError, match="cannot fetch"):
        WebConnector(start_url="http://127.0.0.1:9/").validate()
    with pytest.raises(ConfigError, match="start_url or sitemap_url"):
        WebConnector()
    with pytest.raises(ConfigError, match="not a regular expression"):
        WebConnector(start_url="http://x/", include="(")
