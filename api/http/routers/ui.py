"""The web UI: one page and its files, served by the API server itself (no CDN, no build step). The page
signs in with an API key kept in the browser session and calls the same API as everyone else, so it shows
only what the key's principal may see."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from citewise.errors import NotFoundError

router = APIRouter(include_in_schema=False)
UI = Path(__file__).resolve().parent.parent / "ui"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/")
def index() -> FileResponse:
    return FileResponse(UI / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/ui/{name}")
def asset(name: str) -> FileResponse:
    path = UI / name
    if "/" in name or path.suffix not in TYPES or not path.is_file():
        raise NotFoundError(f"no UI file {name!r}")
    return FileResponse(path, media_type=TYPES[path.suffix], headers=HEADERS)
