"""The `openai` provider against a real OpenAI-compatible server: llama-cpp-python's, serving SmolLM2-135M.

The model is tiny and its answers are weak; the test checks the wiring (streaming, the prompt, citation
clean-up), not answer quality.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from citewise.api.orchestration.providers import Call, Prompt, Source
from citewise.api.orchestration.providers.openai import OpenAIProvider
from citewise.evals.common import free_port
from citewise.settings import OpenAIProfile, Settings
from tests.api.llama_servers import LlamaServer

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    server = LlamaServer(free_port(), tmp_path_factory.mktemp("llama") / "server.log").start()
    try:
        yield server.url
    finally:
        server.stop()


def test_provider_streams_tokens_from_llama_cpp(llama_server):
    provider = OpenAIProvider(OpenAIProfile(name="smol", base_url=llama_server, max_tokens=40))
    prompt = Prompt(
        question="Does vitamin D prevent fractures?",
        system="Answer using the sources; cite them as [n].",
        user="Sources:\n[1] Vitamin D supplements reduce bone fractures.\n\n"
        "Question: Does vitamin D prevent fractures?",
        sources=[Source(n=1, text="Vitamin D supplements reduce bone fractures.")],
    )
    tokens = list(provider.stream(prompt, Call()))
    assert len(tokens) > 1 and "".join(tokens).strip()


def test_chat_through_llama_cpp_cleans_citations(llama_server, tmp_path, encoder):
    from citewise.api.http.app import create_app
    from citewise.connectors.filesystem import FilesystemConnector
    from citewise.db import init_db
    from citewise.identity import create_key
    from citewise.ingest.pipeline import Ingestor

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "vitamin.md").write_text("# Vitamin D\n\nVitamin D supplements reduce the risk of bone fractures.\n")
    settings = Settings(data_dir=tmp_path / "data")
    settings.chat.profiles = [OpenAIProfile(name="smol", base_url=llama_server, max_tokens=60)]
    settings.chat.default_profile = "smol"
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=docs))
    ing.close()
    key = create_key(init_db(settings.db_url), tenant="default", user_id="u", groups=[])
    with TestClient(create_app(settings)) as client:
        r = client.post(
            "/v1/chat",
            json={"question": "Do vitamin D supplements reduce bone fractures?"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["provider"] == "openai" and not any(f.startswith("fallback") for f in out["flags"])
    assert out["answer"].strip()
    n_sources = len(out["sources"])
    assert all(1 <= c["n"] <= n_sources for c in out["citations"])  # every kept marker resolves to a source
    import re

    assert all(1 <= int(m) <= n_sources for m in re.findall(r"\[(\d+)\]", out["answer"]))
