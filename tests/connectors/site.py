"""A small website on a loopback port for the web connector's tests: pages with ETags (and 304s),
robots.txt, a sitemap, a redirect loop, a slow page, a huge page, and a page that asks to retry later."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Site:
    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.requests: list[tuple[str, str]] = []  # (path, status)
        self.busy_once: set[str] = set()  # paths answered 429 with Retry-After: 1 the first time
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                outer.requests.append((self.path, str(status)))
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                path = self.path
                if path in outer.busy_once:
                    outer.busy_once.discard(path)
                    return self._send(429, headers={"Retry-After": "1"})
                if path == "/loop":
                    return self._send(302, headers={"Location": "/loop-b"})
                if path == "/loop-b":
                    return self._send(302, headers={"Location": "/loop"})
                if path == "/slow":
                    time.sleep(3)
                    return self._send(200, b"<html><body><p>late</p></body></html>", {"Content-Type": "text/html"})
                if path == "/huge":
                    return self._send(
                        200, b"<html><body>" + b"x" * 6_000_000 + b"</body></html>", {"Content-Type": "text/html"}
                    )
                if path == "/robots.txt":
                    return self._send(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"})
                if path == "/sitemap.xml":
                    locs = "".join(
                        f"<url><loc>{outer.url}{p}</loc></url>" for p in sorted(outer.pages) if p.startswith("/docs/")
                    )
                    xml = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
                    return self._send(200, xml.encode(), {"Content-Type": "application/xml"})
                if path not in outer.pages:
                    return self._send(404, b"not found")
                kind, body = outer.pages[path]
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, headers={"ETag": etag})
                return self._send(200, body, {"Content-Type": kind, "ETag": etag})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path: str, title: str, text: str, links: list[str] = ()) -> None:
        anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
        html = (
            f"<html><head><title>{title}</title></head><body><nav>Home | About | Contact {anchors}</nav>"
            f"<article><h1>{title}</h1><p>{text}</p><p>This page is part of the company handbook and is kept "
            f"up to date by the people team.</p></article><footer>Copyright 2026 Acme</footer></body></html>"
        )
        self.pages[path] = ("text/html; charset=utf-8", html.encode())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
