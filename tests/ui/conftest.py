"""The web UI in a real browser: Debian's Chromium driven by Playwright (its own browser download does not
work here), against the real app on a real uvicorn server with a small corpus (a PDF, a DOCX, the policy
fixtures, an HR-only file). One server and one browser per session; a fresh browser context per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from citewise.connectors.filesystem import FilesystemConnector
from citewise.connectors.jsonl import JsonlConnector
from citewise.db import init_db
from citewise.identity import create_key
from citewise.ingest.pipeline import Ingestor
from citewise.settings import Settings
from tests.api.live_server import serving
from tests.conftest import FIXTURES

CHROMIUM = os.environ.get("CITEWISE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("CITEWISE_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".citewise" / "screenshots")
)
LAPTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("ui")
    public, hr = root / "corpus", root / "hr"
    public.mkdir()
    hr.mkdir()
    shutil.copy(FIXTURES / "docs" / "fake-memo.pdf", public / "fake-memo.pdf")
    _docx(public / "onboarding.docx")
    (hr / "salaries.md").write_text("# Salary bands\n\nThe salary band for staff engineers is 120k to 150k.\n")
    settings = Settings(data_dir=root / "data")
    settings.guards.rate_limit_per_minute = 100_000
    settings.api.connector_roots = {"*": [str(root)]}
    settings.evals.datasets = {"company-policies": str(FIXTURES / "company-policies")}
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=public))
    ing.sync(FilesystemConnector(path=hr, acl=["group:hr"]))
    ing.sync(JsonlConnector(path=FIXTURES / "company-policies" / "corpus.jsonl"))
    ing.close()
    db = init_db(settings.db_url)
    keys = {
        "admin": create_key(db, tenant="default", user_id="root@example.com", groups=["hr"], admin=True),
        "user": create_key(db, tenant="default", user_id="bob@example.com", groups=["eng"]),
    }
    from citewise.api.http.app import create_app

    with serving(create_app(settings)) as url:
        yield {"url": url, "keys": keys, "root": root, "settings": settings}


def _docx(path: Path) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading("Onboarding", level=1)
    doc.add_paragraph("Welcome to the team. This page explains your first weeks.")
    doc.add_heading("Buddies", level=2)
    doc.add_paragraph("The buddy programme pairs every new hire with a mentor for their first six weeks.")
    doc.add_paragraph("Buddies meet their new colleague twice a week for coffee.")
    doc.save(path)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, ui_server):
    context = browser.new_context(viewport=LAPTOP, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def sign_in(page, ui_server, who: str = "admin") -> None:
    page.goto(ui_server["url"] + "/")
    page.get_by_label("API key").fill(ui_server["keys"][who])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Pages").wait_for()


def screenshot(page, name: str) -> None:
    """The page at laptop and at phone width, into SCREENSHOTS (looked at before a release)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)
