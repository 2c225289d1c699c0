"""What the LLM gateway costs and saves, in one run:

    citewise bench gateway [--calls 300]

- **overhead**: the same streamed completion from a local OpenAI-compatible server, read by a bare httpx
  client and through the gateway (balancer, breaker, retries, usage and cost), alternating; the gateway's
  overhead per call is the paired difference (p50/p95). The bookkeeping alone (acquire + release of a slot)
  is timed too.
- **failover**: a profile whose first-choice endpoint refuses connections (a killed server) against one that
  goes straight to the live server: the extra time of a failed-over call.
- **cache**: the whole answer pipeline (retrieval over a small local index, prompt, generation) on a miss
  against a hit of the answer cache (SQLite), with the model server taking `token_ms` per token.

The model server here is a canned one (`CannedLLM`, real HTTP on loopback): a real model's latency would
drown a sub-millisecond overhead. The acceptance tests run the gateway against real llama.cpp servers.
"""

from __future__ import annotations

import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from citewise.evals.common import p50_p95

ANSWER = "Vitamin D supplements reduce the risk of bone fractures in older adults [1]."


class CannedLLM:
    """An OpenAI-compatible streaming endpoint that answers every request with ANSWER, one word per chunk,
    `token_ms` apart, and reports usage in a final chunk."""

    def __init__(self, token_ms: float = 0.0) -> None:
        words = ANSWER.split(" ")
        chunks = [{"choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]} for w in words]
        chunks.append({"choices": [], "usage": {"prompt_tokens": 200, "completion_tokens": len(words)}})
        frames = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
        delay = token_ms / 1000

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as model servers do

            def log_message(self, *args) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as uvicorn does

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for frame in frames:
                    if delay:
                        time.sleep(delay)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _raw_call(client: httpx.Client, body: dict) -> None:
    with client.stream("POST", "/chat/completions", json=body) as response:
        for _ in response.iter_lines():
            pass


def _overhead(llm: CannedLLM, calls: int) -> dict:
    from citewise.api.orchestration.providers import Call, Prompt
    from citewise.api.orchestration.providers.openai import OpenAIProvider
    from citewise.settings import OpenAIProfile

    provider = OpenAIProvider(OpenAIProfile(name="bench", base_url=llm.url, max_tokens=64))
    prompt = Prompt(question="q", system="Answer from the sources.", user="Sources: [1] ...\nQuestion: q")
    body = {
        "model": "default",
        "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
        "temperature": 0.1,
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    raw_client = httpx.Client(base_url=llm.url)
    for _ in range(20):  # warm both connection pools
        _raw_call(raw_client, body)
        list(provider.stream(prompt, Call()))
    raw, gateway = [], []
    for _ in range(calls):
        t = time.perf_counter()
        _raw_call(raw_client, body)
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        list(provider.stream(prompt, Call()))
        gateway.append(time.perf_counter() - t)
    diffs = [(g - r) * 1000 for g, r in zip(gateway, raw, strict=True)]
    balancer = provider.balancer
    book = []
    for _ in range(10_000):
        t = time.perf_counter()
        balancer.release(balancer.acquire(), ok=True, seconds=0.0)
        book.append((time.perf_counter() - t) * 1000)
    raw_client.close()
    return {
        "calls": calls,
        "raw_ms": p50_p95([r * 1000 for r in raw]),
        "gateway_ms": p50_p95([g * 1000 for g in gateway]),
        "overhead_ms": p50_p95(diffs),
        "overhead_median_of_medians_ms": round(statistics.median(gateway) * 1000 - statistics.median(raw) * 1000, 4),
        "bookkeeping_ms": p50_p95(book),
    }


def _failover(llm: CannedLLM, calls: int) -> dict:
    from citewise.api.orchestration.providers import Call, Prompt
    from citewise.api.orchestration.providers.openai import OpenAIProvider
    from citewise.evals.common import free_port
    from citewise.settings import Endpoint, OpenAIProfile

    dead = f"http://127.0.0.1:{free_port()}/v1"  # bound and released: nothing listens (a killed server)
    prompt = Prompt(question="q", system="s", user="u")
    direct = OpenAIProvider(OpenAIProfile(name="direct", base_url=llm.url))
    failing = OpenAIProvider(
        OpenAIProfile(
            name="failover",
            endpoints=[Endpoint(base_url=dead, weight=1000), Endpoint(base_url=llm.url)],
            breaker_failures=10**9,  # keep trying the dead one first: every call fails over
        )
    )
    for provider in (direct, failing):
        for _ in range(10):
            list(provider.stream(prompt, Call()))
    plain, over = [], []
    for _ in range(calls):
        t = time.perf_counter()
        list(direct.stream(prompt, Call()))
        plain.append((time.perf_counter() - t) * 1000)
        call = Call()
        t = time.perf_counter()
        list(failing.stream(prompt, call))
        over.append((time.perf_counter() - t) * 1000)
        assert [a.outcome for a in call.attempts] == ["error", "ok"], call.attempts
    return {
        "calls": calls,
        "direct_ms": p50_p95(plain),
        "failed_over_ms": p50_p95(over),
        "failover_extra_ms_p50": round(statistics.median(over) - statistics.median(plain), 3),
    }


def _cache(token_ms: float, calls: int, log: Callable[[str], None]) -> dict:
    from citewise.api.orchestration.cache import DbAnswerCache
    from citewise.api.orchestration.pipeline import ChatPipeline
    from citewise.api.orchestration.prompts import PromptRegistry
    from citewise.api.orchestration.schemas import ChatRequest, Turn
    from citewise.connectors.filesystem import FilesystemConnector
    from citewise.db import init_db
    from citewise.identity import Identity
    from citewise.ingest.pipeline import Ingestor
    from citewise.retrieval.retriever import Retriever
    from citewise.settings import OpenAIProfile, Settings

    slow = CannedLLM(token_ms=token_ms)
    root = Path(tempfile.mkdtemp(prefix="citewise-bench-gateway-"))
    docs = root / "docs"
    docs.mkdir()
    for i in range(calls):
        (docs / f"topic{i}.md").write_text(
            f"# Topic {i}\n\nVitamin D trial number {i} found that supplements reduce bone fractures by {i}%.\n"
        )
    settings = Settings(data_dir=root / "data")
    settings.chat.profiles = [OpenAIProfile(name="bench", base_url=slow.url, max_tokens=64)]
    settings.chat.default_profile = "bench"
    settings.chat.evidence_threshold = 0.0
    log(f"indexing {calls} small documents")
    ingestor = Ingestor(settings)
    ingestor.sync(FilesystemConnector(path=docs))
    import citewise.api.orchestration.cache  # noqa: F401  (register the tables)
    import citewise.api.orchestration.prompts  # noqa: F401

    db = init_db(settings.db_url)
    pipeline = ChatPipeline(
        settings,
        Retriever(settings, store=ingestor.store, encoder=ingestor.encoder),
        prompts=PromptRegistry(db),
        cache=DbAnswerCache(db, ttl_s=3600),
    )
    who = Identity(tenant="default", user_id="bench", key_id="bench")

    def ask(question: str) -> tuple[float, list[str]]:
        t = time.perf_counter()
        result = pipeline.answer(Turn(identity=who, request=ChatRequest(question=question), trace_id="bench"))
        return (time.perf_counter() - t) * 1000, result.flags

    ask("warm up the encoder and the index")
    miss, hit = [], []
    for i in range(calls):
        question = f"What did vitamin D trial number {i} find about fractures?"
        ms, flags = ask(question)
        assert "cache:hit" not in flags
        miss.append(ms)
        ms, flags = ask(question)
        assert "cache:hit" in flags
        hit.append(ms)
    ingestor.close()
    slow.close()
    return {
        "calls": calls,
        "token_ms": token_ms,
        "miss_ms": p50_p95(miss),
        "hit_ms": p50_p95(hit),
        "miss_over_hit_p50": round(statistics.median(miss) / statistics.median(hit), 1),
    }


def run_gateway_benchmark(
    *, calls: int = 300, cache_calls: int = 30, token_ms: float = 10.0, log: Callable[[str], None] = print
) -> dict:
    llm = CannedLLM()
    try:
        log(f"overhead: {calls} calls, bare httpx vs gateway, alternating")
        overhead = _overhead(llm, calls)
        log(f"failover: {calls // 3} calls with the first endpoint refusing connections")
        failover = _failover(llm, max(10, calls // 3))
    finally:
        llm.close()
    log(f"cache: {cache_calls} questions through the pipeline, miss then hit")
    cache = _cache(token_ms, cache_calls, log)
    return {"overhead": overhead, "failover": failover, "cache": cache, "goal_overhead_p95_ms": 1.0}
