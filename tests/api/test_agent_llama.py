"""The agent against a real `llama_cpp.server` with function calling on (chatml-function-calling) and the
packaged SmolLM2-135M: the request and response formats, whatever the small model decides to do."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from citewise.api.http.app import create_app
from citewise.connectors.filesystem import FilesystemConnector
from citewise.db import init_db
from citewise.evals.common import free_port
from citewise.identity import create_key
from citewise.ingest.pipeline import Ingestor
from citewise.settings import OpenAIProfile, Settings
from tests.api.llama_servers import LlamaServer

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_the_agent_speaks_function_calling_with_llama_cpp(tmp_path, encoder):
    server = LlamaServer(
        free_port(), tmp_path / "llama.log", n_ctx=4096, extra=["--chat_format", "chatml-function-calling"]
    ).start()
    try:
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "holidays.md").write_text("# Holidays\n\nEmployees get 27 days of paid holiday per year.\n")
        settings = Settings(data_dir=tmp_path / "data")
        settings.agent.max_steps = 3
        settings.chat.profiles = [
            OpenAIProfile(name="smol", base_url=server.url, max_tokens=96, context_window=4096, timeout_s=120)
        ]
        settings.chat.default_profile = "smol"
        ing = Ingestor(settings, encoder=encoder)
        ing.sync(FilesystemConnector(path=docs))
        ing.close()
        key = create_key(init_db(settings.db_url), tenant="default", user_id="u", groups=[])
        with TestClient(create_app(settings)) as client:
            r = client.post(
                "/v1/chat",
                json={"question": "How many days of paid holiday do employees get?", "mode": "agent"},
                headers={"Authorization": f"Bearer {key}"},
            )
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["stop_reason"] in {"answer", "max_steps", "max_tool_calls", "max_tokens", "max_seconds"}
        assert out["steps"] and all(s["type"] in {"tool_call", "answer"} for s in out["steps"])
        assert out["usage"]["total_tokens"] > 0 and out["endpoint"] == server.url
    finally:
        server.stop()
