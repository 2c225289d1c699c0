"""The API app on a real uvicorn server in a thread, for tests whose clients must speak real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from citewise.evals.common import free_port


@contextmanager
def serving(app) -> Iterator[str]:  # noqa: ANN001
    """Yields the base URL once the lifespan has opened the services; stops the server afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # readiness: uvicorn sets it after the lifespan's startup
        if not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
