"""The routes the web UI adds: who am I, API keys, the dashboard's figures, document views, eval runs, and
the UI's own files (strict CSP, no path escapes)."""

from __future__ import annotations

from tests.api.client import ask, auth


def test_me_says_who_the_key_is(env):
    client, keys, _ = env
    me = client.get("/v1/me", headers=auth(keys, "bob")).json()
    assert me["tenant"] == "acme" and me["user_id"] == "bob" and me["groups"] == ["eng"] and me["admin"] is False
    assert client.get("/v1/me").status_code == 401


def test_admins_create_list_and_revoke_keys_of_their_tenant_only(env):
    client, keys, _ = env
    assert client.post("/v1/keys", json={"user_id": "x"}, headers=auth(keys, "bob")).status_code == 403
    r = client.post(
        "/v1/keys", json={"user_id": "carl@acme.com", "groups": ["group:eng", " "]}, headers=auth(keys, "admin")
    )
    assert r.status_code == 201
    new = r.json()
    assert new["key"].startswith("cw_") and new["groups"] == ["eng"] and new["admin"] is False
    listed = client.get("/v1/keys", headers=auth(keys, "admin")).json()["keys"]
    assert new["key_id"] in [k["key_id"] for k in listed] and all("key" not in k for k in listed)
    assert all(k["user_id"] != "gus" for k in listed)  # globex's keys are not acme's to see
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {new['key']}"}).json()["user_id"] == "carl@acme.com"
    assert client.delete(f"/v1/keys/{new['key_id']}", headers=auth(keys, "globex")).status_code == 403
    assert client.delete(f"/v1/keys/{new['key_id']}", headers=auth(keys, "admin")).status_code == 204
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {new['key']}"}).status_code == 401
    assert client.delete("/v1/keys/key_nothere", headers=auth(keys, "admin")).status_code == 404


def test_the_dashboard_counts_requests_and_answers(env):
    client, keys, _ = env
    ask(client, keys, "admin", "Do vitamin D supplements prevent bone fractures?")
    assert client.get("/v1/dashboard", headers=auth(keys, "bob")).status_code == 403
    d = client.get("/v1/dashboard", headers=auth(keys, "admin")).json()
    assert len(d["series"]) == 60 and sum(p["requests"] for p in d["series"]) >= 1
    assert d["answers"] >= 1 and d["refusal_rate"] is not None and "citewise" in d["profiles"]
    assert any(p["p95_ms"] for p in d["series"])
    day = client.get("/v1/dashboard?window=day", headers=auth(keys, "admin")).json()
    assert len(day["series"]) == 48 and day["bucket_s"] == 1800
    assert client.get("/v1/dashboard?window=year", headers=auth(keys, "admin")).status_code == 422


def test_document_views_follow_permissions_and_text_documents_have_no_pages(env):
    client, keys, _ = env
    docs = client.get("/v1/documents", headers=auth(keys, "hr")).json()["documents"]
    hr_only = next(d for d in docs if "group:hr" in d["acl"])
    view = client.get(f"/v1/documents/{hr_only['doc_id']}/view", headers=auth(keys, "hr")).json()
    assert view["format"] == "text" and view["passages"]
    assert client.get(f"/v1/documents/{hr_only['doc_id']}/view", headers=auth(keys, "bob")).status_code == 404
    r = client.get(f"/v1/documents/{hr_only['doc_id']}/pages/1", headers=auth(keys, "hr"))
    assert r.status_code == 404 and "no PDF pages" in r.json()["detail"]


def test_eval_runs_are_admin_only_and_bad_datasets_are_400(env):
    client, keys, _ = env
    assert client.get("/v1/evals", headers=auth(keys, "bob")).status_code == 403
    assert client.get("/v1/evals", headers=auth(keys, "admin")).json() == {"runs": [], "datasets": []}
    r = client.post("/v1/evals", json={"dataset": "nope"}, headers=auth(keys, "admin"))
    assert r.status_code == 400 and "no configured eval dataset" in r.json()["detail"]
    files = {"corpus": ("c.jsonl", b'{"_id": "d1", "text": "x"}\n'), "queries": ("q.jsonl", b"not json\n"),
             "qrels": ("t.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\t1\n")}  # fmt: skip
    r = client.post("/v1/evals/upload", files=files, headers=auth(keys, "admin"))
    assert r.status_code == 422 and "not a BEIR dataset" in r.json()["detail"], r.text
    assert client.get("/v1/evals/runs/..%2F..%2Fetc", headers=auth(keys, "admin")).status_code == 404
    assert client.get("/v1/evals/runs/abc", headers=auth(keys, "admin")).status_code == 404


def test_the_ui_is_served_with_a_strict_policy_and_no_path_escapes(env):
    client, _, _ = env
    page = client.get("/")
    assert page.status_code == 200 and "/ui/app.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/ui/app.js").headers["content-type"].startswith("text/javascript")
    for bad in ("/ui/..%2Fapp.py", "/ui/routers.py", "/ui/nothing.js"):
        assert client.get(bad).status_code == 404, bad
