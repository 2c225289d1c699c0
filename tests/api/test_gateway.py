"""The LLM gateway against real HTTP servers (fake answers, real sockets): balancing, circuit breakers,
retries within a deadline, saturation, usage and cost. The real-model run is tests/api/test_gateway_llama.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from citewise.api.orchestration.providers import Call, Prompt, Source
from citewise.api.orchestration.providers.breaker import CircuitBreaker
from citewise.api.orchestration.providers.openai import OpenAIProvider
from citewise.errors import ProviderError, SaturatedError
from citewise.settings import Endpoint, OpenAIProfile
from tests.api.fake_llm import FakeLLM

PROMPT = Prompt(question="q", system="Answer.", user="Sources: [1] x\nQuestion: q", sources=[Source(1, "x")])
DEAD = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


def _run(provider: OpenAIProvider) -> tuple[str, Call]:
    call = Call()
    return "".join(provider.stream(PROMPT, call)), call


def test_single_base_url_is_one_endpoint():
    profile = OpenAIProfile(name="p", base_url="http://u:secret@h:1/v1", context_window=2048)
    (endpoint,) = profile.resolved_endpoints()
    assert endpoint.base_url == "http://u:secret@h:1/v1" and endpoint.context_window == 2048
    with pytest.raises(ValueError, match="base_url or endpoints"):
        OpenAIProfile(name="p")
    assert OpenAIProvider(profile).health()[0]["endpoint"] == "http://[credentials]@h:1/v1"  # no password in metrics


def test_prompt_window_is_the_smallest_endpoints():
    profile = OpenAIProfile(
        name="p", endpoints=[Endpoint(base_url="http://a/v1", context_window=8192), Endpoint(base_url="http://b/v1")]
    )
    assert profile.prompt_window == 4096  # b takes the profile's window: every failover target fits


def test_requests_spread_by_weight_over_least_outstanding():
    gate = threading.Event()
    with FakeLLM(answer="one", gate=gate) as a, FakeLLM(answer="two", gate=gate) as b:
        profile = OpenAIProfile(
            name="p",
            endpoints=[
                Endpoint(base_url=a.url, weight=1, max_concurrency=8),
                Endpoint(base_url=b.url, weight=3, max_concurrency=8),
            ],
        )
        provider = OpenAIProvider(profile)
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(_run, provider) for _ in range(8)]
            while len(a.requests) + len(b.requests) < 8:  # all eight in flight at once
                threading.Event().wait(0.01)
            gate.set()
            used = [f.result()[1].endpoint for f in futures]
        assert (len(a.requests), len(b.requests)) == (2, 6)  # outstanding/weight kept level: 2/1 == 6/3
        assert used.count(b.url.rstrip("/")) == 6


def test_a_dead_endpoint_fails_over_at_once_and_its_circuit_opens():
    with FakeLLM(answer="alive", usage={"prompt_tokens": 11, "completion_tokens": 2}) as live:
        profile = OpenAIProfile(
            name="p",
            endpoints=[
                Endpoint(base_url=DEAD, input_price=1.0),
                Endpoint(base_url=live.url, input_price=0.5, output_price=2.0),
            ],
            breaker_failures=2,
            breaker_cooldown_s=60,
        )
        provider = OpenAIProvider(profile)
        outcomes = [_run(provider)[1] for _ in range(6)]
        assert all(c.endpoint == live.url.rstrip("/") for c in outcomes)
        dead = next(h for h in provider.health() if h["endpoint"] == DEAD.rstrip("/"))
        assert dead["state"] == "open" and dead["errors"] == 2  # opened after 2, then left alone
        assert sum(len(c.attempts) for c in outcomes) <= 6 + 2
        usage = outcomes[-1].usage  # the server's own counts, priced by the endpoint that answered
        assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (11, 2, False)
        assert usage.cost == pytest.approx((11 * 0.5 + 2 * 2.0) / 1000)


def test_usage_is_estimated_when_the_server_sends_none():
    with FakeLLM(answer="a b c") as llm:
        text, call = _run(OpenAIProvider(OpenAIProfile(name="p", base_url=llm.url)))
    assert call.usage.estimated and call.usage.prompt_tokens > 0 and call.usage.completion_tokens > 0


def test_retryable_errors_back_off_and_honour_retry_after():
    with FakeLLM(answer="ok", statuses=[503, 429], retry_after="0.1") as llm:
        text, call = _run(OpenAIProvider(OpenAIProfile(name="p", base_url=llm.url, max_retries=2)))
    assert text.strip() == "ok" and [a.outcome for a in call.attempts] == ["error", "error", "ok"]
    with FakeLLM(answer="never", statuses=[400]) as llm:  # the request is wrong: no retry, no circuit damage
        provider = OpenAIProvider(OpenAIProfile(name="p", base_url=llm.url, max_retries=3))
        with pytest.raises(ProviderError, match="HTTP 400"):
            _run(provider)
        assert len(llm.requests) == 1 and provider.health()[0]["state"] == "closed"


def test_the_deadline_bounds_all_attempts():
    with FakeLLM(answer="x", delay_s=2.0) as slow:
        provider = OpenAIProvider(
            OpenAIProfile(name="p", base_url=slow.url, timeout_s=5, deadline_s=0.6, max_retries=5)
        )
        import time

        began = time.perf_counter()
        with pytest.raises(ProviderError):
            _run(provider)
        assert time.perf_counter() - began < 1.5


def test_saturation_is_an_error_with_retry_after_not_a_hang():
    gate = threading.Event()
    with FakeLLM(answer="held", gate=gate) as llm:
        provider = OpenAIProvider(
            OpenAIProfile(name="p", endpoints=[Endpoint(base_url=llm.url, max_concurrency=1)], queue_timeout_s=0.2)
        )
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(_run, provider)
            while not llm.requests:
                threading.Event().wait(0.01)
            with pytest.raises(SaturatedError) as info:
                _run(provider)
            assert info.value.retry_after >= 1
            gate.set()
            assert held.result()[0].strip() == "held"
        assert _run(provider)[0].strip() == "held"  # the slot is free again


def test_breaker_half_opens_after_the_cooldown_and_closes_on_success():
    now = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown_s=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.available()
    now[0] = 10.0
    assert breaker.available()
    breaker.claim()
    assert breaker.state == "half_open" and not breaker.available()  # one probe at a time
    breaker.failure()
    assert breaker.state == "open" and breaker.retry_in() == 10.0
    now[0] = 20.0
    breaker.claim()
    breaker.success()
    assert breaker.state == "closed" and breaker.available()


def test_a_stream_cut_mid_answer_is_an_interruption_not_an_answer():
    from citewise.api.orchestration.providers.openai import StreamInterruptedError

    with FakeLLM(answer="one two three four", cut_after=2) as llm:
        provider = OpenAIProvider(OpenAIProfile(name="p", base_url=llm.url, breaker_failures=5))
        with pytest.raises(StreamInterruptedError, match="after 2 tokens"):
            _run(provider)
        assert provider.health()[0]["errors"] == 1
        assert _run(provider)[0].strip() == "one two three four"  # the next request is whole


def test_the_pipeline_starts_an_interrupted_answer_again(tmp_path, encoder):
    """Over HTTP: the first endpoint dies mid-answer, the client gets the whole answer from the other one."""
    from fastapi.testclient import TestClient

    from citewise.api.http.app import create_app
    from citewise.connectors.filesystem import FilesystemConnector
    from citewise.db import init_db
    from citewise.identity import create_key
    from citewise.ingest.pipeline import Ingestor
    from citewise.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "vitamin.md").write_text("# Vitamin D\n\nVitamin D supplements reduce the risk of bone fractures.\n")
    answer = "Vitamin D supplements reduce the risk of bone fractures [1]."
    with FakeLLM(answer=answer, cut_after=3) as cut, FakeLLM(answer=answer) as whole:
        settings = Settings(data_dir=tmp_path / "data")
        settings.chat.profiles = [
            OpenAIProfile(name="pair", endpoints=[Endpoint(base_url=cut.url, weight=9), Endpoint(base_url=whole.url)])
        ]
        settings.chat.default_profile = "pair"
        ing = Ingestor(settings, encoder=encoder)
        ing.sync(FilesystemConnector(path=docs))
        ing.close()
        key = create_key(init_db(settings.db_url), tenant="default", user_id="u", groups=[])
        with TestClient(create_app(settings)) as client:
            headers = {"Authorization": f"Bearer {key}"}
            r = client.post("/v1/chat", json={"question": "Does vitamin D reduce bone fractures?"}, headers=headers)
            assert r.status_code == 200, r.text
            out = r.json()
            assert "restarted" in out["flags"] and out["answer"].count("Vitamin D") == 1 and out["grounded"]
            with client.stream(
                "POST", "/v1/chat", json={"question": "Do vitamin D supplements help?", "stream": True}, headers=headers
            ) as s:
                events = [line.removeprefix("event: ") for line in s.iter_lines() if line.startswith("event: ")]
            assert events[-1] == "done"
