"""The gateway's acceptance run: one profile over two real llama.cpp servers (`llama_cpp.server` with the
packaged SmolLM2-135M), behind the real API server (uvicorn) and real HTTP clients.

Requests spread over both; one server is killed mid-run and no client sees an error (a request cut off
mid-answer starts again on the other server); its circuit opens, and closes again when it comes back.
Every server busy gives 503 with Retry-After.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from citewise.api.http.app import create_app
from citewise.connectors.filesystem import FilesystemConnector
from citewise.db import init_db
from citewise.evals.common import free_port
from citewise.identity import create_key
from citewise.ingest.pipeline import Ingestor
from citewise.settings import Endpoint, OpenAIProfile, Settings
from tests.api.live_server import serving
from tests.api.llama_servers import LlamaServer

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QUESTIONS = [
    "Do vitamin D supplements reduce bone fractures?",
    "Who benefits most from vitamin D supplements?",
    "How much paid holiday do employees get?",
    "When do unused holiday days expire?",
]


@pytest.fixture(scope="module")
def llamas(tmp_path_factory):
    folder = tmp_path_factory.mktemp("llamas")
    servers = [LlamaServer(free_port(), folder / f"{name}.log") for name in ("a", "b")]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(LlamaServer.start, servers))
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def api(llamas, tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("gateway")
    docs = root / "docs"
    docs.mkdir()
    (docs / "vitamin.md").write_text(
        "# Vitamin D\n\nVitamin D supplements reduce the risk of bone fractures in older adults. "
        "People over seventy benefit most.\n"
    )
    (docs / "holidays.md").write_text(
        "# Holidays\n\nEmployees get 27 days of paid holiday per year. Unused days expire in March.\n"
    )
    settings = Settings(data_dir=root / "data")
    settings.cache.backend = "off"  # every request reaches a model server
    pair = [Endpoint(base_url=s.url, max_concurrency=2, input_price=0.1, output_price=0.2) for s in llamas]
    settings.chat.profiles = [
        OpenAIProfile(
            name="pair",
            endpoints=pair,
            context_window=2048,
            max_tokens=24,
            breaker_failures=2,
            breaker_cooldown_s=1.0,
            timeout_s=30,
            deadline_s=90,
            queue_timeout_s=60,
        ),
        OpenAIProfile(
            name="tight",
            endpoints=[e.model_copy(update={"max_concurrency": 1}) for e in pair],
            context_window=2048,
            max_tokens=8,
            queue_timeout_s=0.2,
            fallback=[],
        ),
    ]
    settings.chat.default_profile = "pair"
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=docs))
    ing.close()
    key = create_key(init_db(settings.db_url), tenant="default", user_id="u", groups=[], admin=True)
    app = create_app(settings)
    with serving(app) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client, app.state.services


def _ask(client: httpx.Client, i: int, profile: str = "pair") -> httpx.Response:
    return client.post("/v1/chat", json={"question": QUESTIONS[i % len(QUESTIONS)], "profile": profile}, timeout=120)


def _state(services, url: str, profile: str = "pair") -> str:
    return next(h["state"] for h in services.pipeline.health() if h["profile"] == profile and h["endpoint"] == url)


def test_requests_spread_and_a_killed_server_costs_no_client_an_error(api, llamas):
    client, services = api
    a, b = llamas
    done = threading.Semaphore(0)

    def one(i: int) -> httpx.Response:
        r = _ask(client, i)
        done.release()
        return r

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(one, i) for i in range(12)]
        for _ in range(4):
            done.acquire()
        a.kill()  # mid-run: other requests are in flight on it or about to be sent to it
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses if r.status_code != 200]
    print("restarted:", sum("restarted" in r.json()["flags"] for r in responses))
    results = [r.json() for r in responses]
    assert all(r["provider"] == "openai" and "degraded:extractive" not in r["flags"] for r in results)
    assert {r["endpoint"] for r in results} == {a.url, b.url}  # both served before the kill
    assert all(r["usage"]["total_tokens"] > 0 and r["usage"]["cost"] > 0 for r in results)
    for i in range(6):  # the dead server's circuit opens (connection refused counts against it)
        if _state(services, a.url) == "open":
            break
        assert _ask(client, i).status_code == 200
    assert _state(services, a.url) == "open", services.pipeline.health()
    metrics = client.get("/metrics").text
    assert f'citewise_endpoint_circuit_state{{endpoint="{a.url}",profile="pair"}} 2.0' in metrics

    a.start()  # back on the same port: after the cool-down one probe goes through and closes the circuit
    deadline = time.monotonic() + 30
    while _state(services, a.url) != "closed" and time.monotonic() < deadline:
        time.sleep(0.5)
        assert _ask(client, 0).status_code == 200
    assert _state(services, a.url) == "closed"
    served = {_ask(client, i).json()["endpoint"] for i in range(6)}
    assert a.url in served


def test_every_server_busy_is_a_503_with_retry_after(api):
    client, services = api
    balancer = services.pipeline._provider(services.pipeline.profile("tight")).balancer
    held = [balancer.acquire(), balancer.acquire()]  # both endpoints at max_concurrency=1
    try:
        began = time.perf_counter()
        r = _ask(client, 0, "tight")
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
        assert r.json()["error"]["type"] == "saturated" and time.perf_counter() - began < 5  # no hang
        s = client.post("/v1/chat", json={"question": QUESTIONS[0], "profile": "tight", "stream": True})
        assert s.status_code == 503 and "Retry-After" in s.headers
    finally:
        for slot in held:
            balancer.release(slot, ok=None)
    assert _ask(client, 0, "tight").status_code == 200
