"""What every vendor test server shares: a quiet request handler that answers JSON (or bytes), and a
loopback HTTP server in a daemon thread that `close()` stops. Each vendor module keeps only its API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class VendorHandler(BaseHTTPRequestHandler):
    json_type = "application/json"  # the vendor's exact Content-Type for JSON bodies

    def log_message(self, *args) -> None:
        pass

    def _send(
        self, status: int, body: dict | list | bytes, headers: dict | None = None, kind: str | None = None
    ) -> None:
        """A JSON body (or bytes, `application/octet-stream` unless `kind` says otherwise)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", kind or ("application/octet-stream" if isinstance(body, bytes) else self.json_type)
        )
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LoopbackServer:
    """Starts `handler` on a free loopback port; `url` is its base."""

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
