"""What a hostile or careless client sends gets a 4xx with a message, never a 500 or another's data."""

from __future__ import annotations

import json

import pytest

from citewise.db import init_db
from citewise.identity import create_key
from tests.api.client import auth
from tests.conftest import DOCS

QUESTION = "Does vitamin D lower fracture risk?"


@pytest.mark.parametrize(
    "filters",
    [
        {"match": {"tenant ": "globex"}},  # a reserved key with a trailing space
        {"match": {"page": 1.5}},  # Qdrant matches no floats
        {"match": {"no_such_field": "x"}},
        {"exclude": {"doc_id": []}},
        {"match": {"title": "x" * 5000}},
        {"doc_ids": ["a"] * 500},
    ],
)
def test_bad_filters_are_422_on_search_and_chat(env, filters):
    client, keys, _ = env
    r = client.post("/v1/search", json={"query": "vitamin", "filters": filters}, headers=auth(keys, "bob"))
    assert r.status_code == 422 and r.json()["detail"], r.text
    r = client.post("/v1/chat", json={"question": QUESTION, "filters": filters}, headers=auth(keys, "bob"))
    assert r.status_code == 422 and r.json()["detail"], r.text


def test_good_filters_still_work(env):
    client, keys, _ = env
    body = {"query": "vitamin", "filters": {"match": {"meta.lang": "en"}, "modified_after": "2001-01-01T00:00:00"}}
    assert client.post("/v1/search", json=body, headers=auth(keys, "bob")).status_code == 200


@pytest.mark.parametrize("name", ["..", ".", "../../etc/passwd.txt", "é" * 200 + ".txt", ".hidden.txt", "a\\b.txt"])
def test_hostile_upload_names_are_stored_safely(env, name):
    client, keys, settings = env
    upload = {"file": (name, b"Quarterly parking review notes.")}
    r = client.post("/v1/documents", files=upload, headers=auth(keys, "admin"))
    assert r.status_code == 201, r.text
    stored = r.json()["filename"]
    assert "/" not in stored and "\\" not in stored and not stored.startswith(".") and len(stored.encode()) <= 200
    uploads = (settings.data_dir / "uploads").resolve()
    assert all(p.resolve().is_relative_to(uploads) for p in uploads.rglob("*"))
    client.delete(f"/v1/documents/{r.json()['doc_id']}", headers=auth(keys, "admin"))


def test_upstream_secrets_never_reach_the_client(env):
    client, keys, _ = env
    r = client.post("/v1/chat", json={"question": QUESTION, "profile": "down"}, headers=auth(keys, "bob"))
    assert r.status_code == 502 and "hunter2" not in r.text and "127.0.0.1:9" in r.text
    body = {"question": QUESTION, "profile": "down", "stream": True}
    r = client.post("/v1/chat", json=body, headers=auth(keys, "bob"))
    assert "event: error" in r.text and "hunter2" not in r.text


def test_connector_configs_are_for_admins_and_secrets_are_masked(env, tmp_path):
    client, keys, settings = env
    settings.api.connector_roots = {"acme": [str(tmp_path)]}
    body = {"name": "vault", "type": "filesystem", "config": {"path": str(tmp_path), "api_token": "tok-123"}}
    r = client.post("/v1/connectors", json=body, headers=auth(keys, "admin"))
    assert r.status_code == 400 and "api_token" in r.json()["detail"] and "tok-123" not in r.text  # not an option
    body["config"] = {"path": str(tmp_path)}
    r = client.post("/v1/connectors", json=body, headers=auth(keys, "admin"))
    assert r.status_code == 201 and r.json()["config"] == {"path": str(tmp_path)}
    seen = {c["name"]: c for c in client.get("/v1/connectors", headers=auth(keys, "bob")).json()["connectors"]}
    assert seen["vault"]["config"] == {} and seen["vault"]["secrets"] == []
    admin = {c["name"]: c for c in client.get("/v1/connectors", headers=auth(keys, "admin")).json()["connectors"]}
    assert admin["vault"]["config"] == {"path": str(tmp_path)}
    client.app.state.services.jobs.remove_connector("vault", "acme")  # the app is shared with other modules


def test_api_connectors_stay_inside_the_allowed_roots(env, tmp_path):
    client, keys, settings = env
    settings.api.connector_roots = {"acme": [str(tmp_path / "allowed")]}
    (tmp_path / "allowed").mkdir()
    (tmp_path / "allowed" / "escape").symlink_to("/etc")
    for path, why in [
        ("/etc", "outside"),
        (str(tmp_path / "allowed" / "escape"), "outside"),  # a link out of the root is judged by its target
        (str(settings.data_dir / "uploads"), "data dir"),
    ]:
        body = {"name": f"x{abs(hash(path))}", "type": "filesystem", "config": {"path": path}}
        r = client.post("/v1/connectors", json=body, headers=auth(keys, "admin"))
        assert r.status_code == 403 and why in r.json()["detail"], (path, r.text)
    settings.api.connector_roots = {"*": [str(settings.data_dir.parent)]}  # even when a root contains it
    body = {"name": "data", "type": "filesystem", "config": {"path": str(settings.data_dir)}}
    r = client.post("/v1/connectors", json=body, headers=auth(keys, "admin"))
    assert r.status_code == 403 and "data dir" in r.json()["detail"]


def test_urls_that_name_local_files_are_held_to_the_roots_too(env, tmp_path):
    """A git repository path or file:// URL, a git cache folder and a sqlite:/// database are local files."""
    client, keys, settings = env
    settings.api.connector_roots = {"acme": [str(tmp_path / "allowed")]}
    (tmp_path / "allowed").mkdir()
    for type_, config in [
        ("git", {"url": "/etc"}),
        ("git", {"url": "file:///etc"}),
        ("git", {"url": "https://git.example.com/acme/handbook.git", "cache_dir": "/var/tmp/x"}),
        ("sql", {"url": "sqlite:////etc/passwd.db", "table": "t", "text_columns": "body"}),
    ]:
        body = {"name": f"x{abs(hash(str(config)))}", "type": type_, "config": config}
        r = client.post("/v1/connectors", json=body, headers=auth(keys, "admin"))
        assert r.status_code == 403 and "outside" in r.json()["detail"], (config, r.text)
    remote = {"name": "remote", "type": "git", "config": {"url": "https://127.0.0.1:9/acme/handbook.git",
              "cache_dir": str(tmp_path / "allowed" / "cache"), "timeout_s": 5}}  # fmt: skip
    r = client.post("/v1/connectors", json=remote, headers=auth(keys, "admin"))
    assert r.status_code == 400 and "cannot reach" in r.json()["detail"]  # a remote URL is not a local path


def test_rate_limited_answers_say_when_to_retry(env):
    from citewise.api.orchestration.guardrails import RateLimit

    client, keys, _ = env
    services = client.app.state.services
    saved, services.rate_limit = services.rate_limit, RateLimit(1)
    try:
        client.get("/v1/models", headers=auth(keys, "globex"))
        r = client.get("/v1/models", headers=auth(keys, "globex"))
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 61
    finally:
        services.rate_limit = saved


def test_keys_without_a_user_do_not_share_sessions(env):
    client, keys, settings = env
    db = init_db(settings.db_url)
    eng = {"Authorization": f"Bearer {create_key(db, tenant='acme', user_id=None, groups=['eng'])}"}
    hr = {"Authorization": f"Bearer {create_key(db, tenant='acme', user_id=None, groups=['hr'])}"}
    first = client.post("/v1/chat", json={"question": QUESTION}, headers=hr).json()
    r = client.post("/v1/chat", json={"question": "and why?", "session_id": first["session_id"]}, headers=eng)
    assert r.status_code == 404
    r = client.post("/v1/chat", json={"question": "and why?", "session_id": first["session_id"]}, headers=hr)
    assert r.status_code == 200


def test_an_unexpected_error_is_a_logged_500_with_a_trace_id(env, monkeypatch, caplog):
    client, keys, _ = env
    retriever = client.app.state.services.retriever

    def boom(request):  # noqa: ANN001
        raise RuntimeError("kaboom sk-abcdefghijklmnopqrstuv")

    monkeypatch.setattr(retriever, "run", boom)
    r = client.post("/v1/search", json={"query": "vitamin"}, headers={**auth(keys, "bob"), "X-Request-ID": "t-500"})
    assert r.status_code == 500 and r.json()["trace_id"] == "t-500" and "kaboom" not in r.text
    assert any("internal error" in rec.getMessage() for rec in caplog.records)
    assert json.loads(r.text)["error"]["type"] == "internal_error"


@pytest.mark.slow
def test_the_server_answers_searches_while_a_zip_bomb_is_parsed(env, tmp_path):
    import dataclasses
    import threading
    import time
    import zipfile

    client, keys, _ = env
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(DOCS / "simple.docx") as real, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, 1) as z:
        for member in real.infolist():  # a real DOCX whose body is 1.5 GiB of one text run
            if member.filename != "word/document.xml":
                z.writestr(member, real.read(member))
        with z.open("word/document.xml", "w", force_zip64=True) as out:
            ns = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
            out.write(b'<?xml version="1.0"?><w:document xmlns:w="' + ns + b'"><w:body><w:p><w:r><w:t>')
            block = b"A" * (8 * 2**20)
            for _ in range(192):
                out.write(block)
            out.write(b"</w:t></w:r></w:p></w:body></w:document>")
    parser = client.app.state.services.ingestor.parser
    saved = parser.limits
    # Let the bomb past the ZIP pre-check: the worker's memory watch has to stop it this time.
    loose = dataclasses.replace(saved.archive, max_ratio=1e9, max_expanded_bytes=4 * 2**30)
    parser.limits = dataclasses.replace(saved, memory_bytes=768 * 2**20, archive=loose)
    result: dict = {}

    def upload() -> None:
        with bomb.open("rb") as f:
            result["r"] = client.post("/v1/documents", files={"file": ("bomb.docx", f)}, headers=auth(keys, "admin"))

    thread = threading.Thread(target=upload)
    thread.start()
    latencies = []
    while thread.is_alive() and len(latencies) < 200:
        started = time.perf_counter()
        r = client.post("/v1/search", json={"query": "vitamin D", "k": 3}, headers=auth(keys, "bob"))
        assert r.status_code == 200
        latencies.append(time.perf_counter() - started)
        time.sleep(0.05)
    thread.join(300)
    parser.limits = saved
    r = result["r"]
    assert r.status_code == 422 and "memory_limit" in r.json()["detail"], r.text
    assert latencies and max(latencies) < 5.0  # searches were answered all along
    assert client.get("/readyz").json()["status"] == "ready"


def _poll(client, keys, upload_id, who="admin"):  # noqa: ANN001, ANN202
    import time

    for _ in range(300):
        job = client.get(f"/v1/uploads/{upload_id}", headers=auth(keys, who)).json()
        assert "status" in job, job
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"upload {upload_id} never finished")


def test_big_uploads_are_queued_and_never_hold_up_the_request(env):
    import time

    from citewise.api.orchestration.guardrails import RateLimit

    client, keys, settings = env
    saved, services = settings.api.inline_upload_mb, client.app.state.services
    saved_limit, services.rate_limit = services.rate_limit, RateLimit(10_000)  # polling is not the subject here
    settings.api.inline_upload_mb = 0.05  # 50 KB: the slow file below goes to the queue
    try:
        slow = b"\n\n".join(f"Paragraph {i} records the visitor policy of site {i}.".encode() for i in range(6000))
        r = client.post("/v1/documents", files={"file": ("visitors.md", slow)}, headers=auth(keys, "admin"))
        assert r.status_code == 202 and r.json()["status"] == "queued", r.text
        big_id = r.json()["upload_id"]
        started = time.perf_counter()  # a small file while the big one is in the queue: answered at once
        r = client.post("/v1/documents", files={"file": ("tiny.txt", b"The lift is serviced on Mondays.")},
                        headers=auth(keys, "admin"))  # fmt: skip
        assert time.perf_counter() - started < 3 and r.status_code == 202, r.text
        small_id = r.json()["upload_id"]
        bad = client.post("/v1/documents", files={"file": ("locked.pdf", (DOCS / "bad" / "password.pdf").read_bytes())},
                          headers=auth(keys, "admin")).json()["upload_id"]  # fmt: skip
        assert client.get(f"/v1/uploads/{big_id}", headers=auth(keys, "globex")).status_code == 404
        done = [_poll(client, keys, job) for job in (big_id, small_id, bad)]
        assert [d["status"] for d in done] == ["succeeded", "succeeded", "failed"], done
        assert done[0]["chunks"] > 10 and "encrypted" in done[2]["error"]
        listed = {d["doc_id"] for d in client.get("/v1/documents", headers=auth(keys, "admin")).json()["documents"]}
        assert {done[0]["doc_id"], done[1]["doc_id"]} <= listed
    finally:
        settings.api.inline_upload_mb, services.rate_limit = saved, saved_limit
        for job in done if "done" in locals() else []:
            if job.get("doc_id"):
                client.delete(f"/v1/documents/{job['doc_id']}", headers=auth(keys, "admin"))
