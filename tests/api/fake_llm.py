"""A tiny OpenAI-compatible HTTP server for tests: streams a canned answer, or stalls to trigger timeouts.

It is a real HTTP server on a loopback port (the provider's httpx code, retries and timeouts all run);
the real-model path is covered by the llama.cpp server test.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(
        self,
        answer: str = "",
        delay_s: float = 0.0,
        status: int = 200,
        *,
        usage: dict | None = None,
        statuses: list[int] | None = None,
        retry_after: str | None = None,
        gate: threading.Event | None = None,
        cut_after: int | None = None,
        script: list[dict] | None = None,
        reject_tools: bool = False,
    ) -> None:
        """`statuses` are answered first, one per request (then `status`); `gate`: each request waits for
        it before answering (to hold a slot busy); `usage`: sent in a final chunk, as OpenAI does."""
        self.answer, self.delay_s, self.status = answer, delay_s, status
        self.usage, self.statuses, self.retry_after, self.gate = usage, list(statuses or []), retry_after, gate
        self.cut_after = cut_after  # the first answer stops after this many words, without [DONE]
        # Non-streamed requests (the agent's steps) get these assistant messages in turn; the last repeats.
        self.script = list(script or [])
        self.reject_tools = reject_tools  # answer a request that offers `tools` with 400, as servers without them do
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if outer.gate is not None:
                    outer.gate.wait(30)
                time.sleep(outer.delay_s)
                if outer.delay_s:
                    return  # the client has timed out by now
                if outer.reject_tools and body.get("tools"):
                    error = json.dumps({"error": {"message": "tools are not supported"}}).encode()
                    self.send_response(400)
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                if not body.get("stream") and outer.script:
                    message = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                    payload = json.dumps(
                        {
                            "choices": [{"index": 0, "message": {"role": "assistant", **message}}],
                            "usage": {"prompt_tokens": 50, "completion_tokens": 10},
                        }
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status = outer.statuses.pop(0) if outer.statuses else outer.status
                if status != 200:
                    self.send_response(status)
                    if outer.retry_after:
                        self.send_header("Retry-After", outer.retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for i, word in enumerate(outer.answer.split(" ")):
                        if outer.cut_after is not None and i == outer.cut_after:
                            outer.cut_after = None
                            return  # the connection closes mid-answer, as when a server is killed
                        chunk = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    if outer.usage:
                        final = {"choices": [], "usage": outer.usage}
                        self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                except BrokenPipeError:  # the client gave up (the timeout tests)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
