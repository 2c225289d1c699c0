"""The MCP server end to end with the official `mcp` SDK as the client: `citewise mcp` over stdio, through a
running API server (`--url`) and on its own data dir, each as two principals: the tools are listed, each is
called, and what one key may not read never comes back."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest

from citewise.api.http.app import create_app
from citewise.connectors.filesystem import FilesystemConnector
from citewise.db import init_db
from citewise.identity import create_key
from citewise.ingest.pipeline import Ingestor
from citewise.settings import Settings
from tests.api.live_server import serving

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _data_dir(root, encoder) -> tuple[Settings, dict[str, str], str]:
    """Two documents in tenant acme: one for everyone, one for group hr only."""
    public, hr = root / "public", root / "hr"
    public.mkdir(parents=True)
    hr.mkdir()
    (public / "holidays.md").write_text("# Holidays\n\nEmployees get 27 days of paid holiday per year.\n")
    (hr / "salaries.md").write_text("# Salaries\n\nSalary bands for engineers range from 60k to 90k euros per year.\n")
    settings = Settings(data_dir=root / "data")
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(FilesystemConnector(path=public), tenant="acme")
    ing.sync(FilesystemConnector(path=hr, acl=["group:hr"]), tenant="acme")
    ing.close()
    db = init_db(settings.db_url)
    keys = {
        "bob": create_key(db, tenant="acme", user_id="bob", groups=["eng"]),
        "hana": create_key(db, tenant="acme", user_id="hana", groups=["hr"]),
    }
    from citewise.ingest.pipeline import doc_id_for

    salaries = doc_id_for(settings.index.collection, "acme", str((hr / "salaries.md").resolve()))
    return settings, keys, salaries


async def _session_calls(args: list[str], env: dict[str, str], salaries: str) -> dict:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "citewise.api.cli", "mcp", *args], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        return await _calls(session, salaries)


async def _calls(session, salaries: str) -> dict:  # noqa: ANN001
    """List the tools and call each one: what every transport's test checks."""
    await session.initialize()
    tools = sorted(t.name for t in (await session.list_tools()).tools)

    async def call(name: str, arguments: dict) -> dict:
        result = await session.call_tool(name, arguments)
        return result.structured_content or json.loads(result.content[0].text)

    return {
        "tools": tools,
        "search": await call("search", {"query": "salary bands for engineers", "k": 5}),
        "read": await call("read_document", {"doc_id": salaries}),
        "ask": await call("ask", {"question": "What are the salary bands for engineers?"}),
    }


def _check(out: dict[str, dict], salaries: str) -> None:
    for who in ("bob", "hana"):
        assert out[who]["tools"] == ["ask", "read_document", "search"]
    hana, bob = out["hana"], out["bob"]
    assert any(h["doc_id"] == salaries for h in hana["search"]["hits"])
    assert all(h["doc_id"] != salaries for h in bob["search"]["hits"])  # never another principal's passage
    assert hana["read"]["passages"] and "60k" in hana["read"]["passages"][0]["text"]
    assert "error" in bob["read"] and "60k" not in json.dumps(bob["read"])
    assert "60k" in hana["ask"]["answer"] and hana["ask"]["citations"]
    assert "60k" not in json.dumps(bob["ask"])


def test_mcp_through_a_running_server_is_scoped_per_key(tmp_path, encoder):
    settings, keys, salaries = _data_dir(tmp_path, encoder)
    with serving(create_app(settings)) as base:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        out = {
            who: anyio.run(_session_calls, ["--key", key, "--url", base], env, salaries) for who, key in keys.items()
        }
    _check(out, salaries)


def test_mcp_on_its_own_data_dir_is_scoped_per_key(tmp_path, encoder):
    settings, keys, salaries = _data_dir(tmp_path, encoder)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEWISE_DATA_DIR": str(settings.data_dir)}
    out = {}
    for who, key in keys.items():
        out[who] = anyio.run(_session_calls, [], {**env, "CITEWISE_API_KEY": key}, salaries)
    _check(out, salaries)


async def _http_calls(url: str, key: str | None, salaries: str) -> dict:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as streams, ClientSession(*streams[:2]) as session:
            return await _calls(session, salaries)


def test_the_http_mcp_endpoint_takes_the_key_as_bearer_token(tmp_path, encoder):
    import httpx

    settings, keys, salaries = _data_dir(tmp_path, encoder)
    with serving(create_app(settings)) as base:
        url = f"{base}/mcp"
        out = {who: anyio.run(_http_calls, url, key, salaries) for who, key in keys.items()}
        anonymous = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        wrong = httpx.post(url, json={}, headers={"Authorization": "Bearer cw_nope"})
    _check(out, salaries)
    assert anonymous.status_code == 401 and wrong.status_code == 401
