"""POST/GET /v1/admin/reindex: an admin switches the collection's encoder through the running server; searches
keep answering during the background re-embedding; at start the server finishes or follows what it finds."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from citewise.api.http.app import create_app
from citewise.connectors.filesystem import FilesystemConnector
from citewise.db import init_db
from citewise.identity import create_key
from citewise.ingest.pipeline import Ingestor
from citewise.retrieval.generations import Generations
from citewise.settings import Settings

pytestmark = pytest.mark.slow
DOCS = {
    "leave.md": "# Leave\n\nEmployees receive 27 days of paid annual leave per calendar year.\n",
    "lunch.md": "# Canteen\n\nThe cafeteria serves lunch from 11:30 to 14:00 on weekdays.\n",
    "sync.md": "# Deletions\n\nDeleted files are removed from the index on the next sync.\n",
}


@pytest.fixture()
def minilm_data_dir(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    settings = Settings(data_dir=tmp_path / "data")
    ingestor = Ingestor(settings)
    ingestor.sync(FilesystemConnector(path=folder))
    ingestor.close()
    db = init_db(settings.db_url)
    keys = {
        "admin": create_key(db, tenant="default", user_id="root", groups=[], admin=True),
        "user": create_key(db, tenant="default", user_id="ann", groups=[]),
    }
    return settings, keys


def _h(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _wait(client: TestClient, key: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get("/v1/admin/reindex", headers=_h(key)).json()
        if not state["running"]:
            return state
        time.sleep(0.2)
    raise AssertionError("the reindex did not finish")


def test_an_admin_switches_the_encoder_through_the_api(minilm_data_dir):
    settings, keys = minilm_data_dir
    german = {"query": "Wie viele Urlaubstage bekommen Angestellte?", "k": 1, "mode": "dense"}
    with TestClient(create_app(settings)) as client:
        state = client.get("/v1/admin/reindex", headers=_h(keys["admin"])).json()
        assert state["encoder"] == "openvino" and state["status"] == "live" and not state["running"]
        assert client.post("/v1/admin/reindex", json={"encoder": "e5"}, headers=_h(keys["user"])).status_code == 403
        bad = client.post("/v1/admin/reindex", json={"encoder": "nope"}, headers=_h(keys["admin"]))
        assert bad.status_code == 422 and "e5" in bad.json()["detail"]
        started = client.post("/v1/admin/reindex", json={"encoder": "e5"}, headers=_h(keys["admin"]))
        assert started.status_code == 202 and started.json()["target_encoder"] == "e5"
        during = client.post("/v1/search", json=german, headers=_h(keys["user"]))
        assert during.status_code == 200  # the old generation answers meanwhile
        state = _wait(client, keys["admin"])
        assert state["encoder"] == "e5" and state["status"] == "live" and state["done"] == state["total"] == 3
        hit = client.post("/v1/search", json=german, headers=_h(keys["user"])).json()["hits"][0]
        assert hit["title"] == "leave"  # German question, English passage: e5 finds it


def test_the_server_follows_the_encoder_setting_at_start(minilm_data_dir):
    settings, keys = minilm_data_dir
    settings.embedding.backend = "e5"  # a data dir built with MiniLM, a server configured for e5
    with TestClient(create_app(settings)) as client:
        state = _wait(client, keys["admin"])
        assert state["encoder"] == "e5"
    row = Generations(init_db(settings.db_url)).get("citewise")
    assert row.encoder == "e5" and row.physical.startswith("citewise--e5-")
