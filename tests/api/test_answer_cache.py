"""The answer cache over HTTP: a hit skips the LLM; other permissions, a changed source and a new template
version each miss. The LLM is a real HTTP server counting its requests (tests/api/fake_llm.py)."""

from __future__ import annotations

from citewise.connectors.filesystem import FilesystemConnector
from tests.api.client import ask, auth
from tests.api.conftest import COUNTED

Q = "Do vitamin D supplements reduce bone fractures?"


def _calls() -> int:
    return len(COUNTED[0].requests)


def test_a_hit_is_served_without_calling_the_llm(env):
    client, keys, _ = env
    first = ask(client, keys, "bob", Q, profile="counted")
    before = _calls()
    again = ask(client, keys, "bob", "  do VITAMIN d supplements reduce bone fractures ", profile="counted")
    assert _calls() == before  # normalised question, same passages: no LLM call
    assert "cache:hit" in again["flags"] and "cache:hit" not in first["flags"]
    assert again["answer"] == first["answer"] and again["citations"] == first["citations"]
    assert first["usage"]["prompt_tokens"] == 120 and first["usage"]["cost"] > 0
    assert again["usage"]["total_tokens"] == 0 and again["usage"]["cost"] == 0  # nothing paid for a hit
    assert again["endpoint"] == first["endpoint"] and again["template"] == first["template"]


def test_another_principal_misses(env):
    client, keys, _ = env
    ask(client, keys, "bob", Q, profile="counted")
    before = _calls()
    other = ask(client, keys, "hr", Q, profile="counted")  # same tenant, other groups
    assert _calls() == before + 1 and "cache:hit" not in other["flags"]


def test_a_changed_source_misses(env, tmp_path):
    client, keys, _ = env
    services = client.app.state.services
    folder = tmp_path / "care"
    folder.mkdir()
    doc = folder / "vitd-care.md"
    doc.write_text("# Vitamin D in care\n\nVitamin D supplements reduce the risk of bone fractures in nursing homes.\n")

    def sync():
        with services.write_lock:
            services.ingestor.sync(FilesystemConnector(path=folder), tenant="acme")

    sync()
    try:
        q = "Do vitamin D supplements reduce bone fractures in nursing homes?"
        first = ask(client, keys, "bob", q, profile="counted")
        assert first["sources"][0]["title"] == "vitd-care"
        assert "cache:hit" in ask(client, keys, "bob", q, profile="counted")["flags"]
        doc.write_text("# Vitamin D in care\n\nVitamin D supplements did not reduce fractures in nursing homes.\n")
        sync()  # same document, new version: its chunk ids change
        before = _calls()
        fresh = ask(client, keys, "bob", q, profile="counted")
        assert _calls() == before + 1 and "cache:hit" not in fresh["flags"]
        assert fresh["sources"][0]["chunk_id"] != first["sources"][0]["chunk_id"]
    finally:
        doc.unlink()
        sync()


def test_a_new_template_version_misses(env):
    client, keys, _ = env
    q = "Does vitamin D help older adults with fractures?"
    ask(client, keys, "bob", q, profile="counted")
    assert "cache:hit" in ask(client, keys, "bob", q, profile="counted")["flags"]
    current = client.get("/v1/prompts/answer", headers=auth(keys, "bob")).json()[-1]
    saved = client.put(
        "/v1/prompts/answer",
        json={"system": current["system"] + "\nBe concise.", "user": current["user"]},
        headers=auth(keys, "admin"),
    )
    assert saved.status_code == 201, saved.text
    before = _calls()
    fresh = ask(client, keys, "bob", q, profile="counted")
    assert _calls() == before + 1 and "cache:hit" not in fresh["flags"]
    assert fresh["template"] == saved.json()["ref"]
    assert "Be concise." in COUNTED[0].requests[-1]["messages"][0]["content"]  # the new version was sent


def test_the_redis_backend_keeps_answers_with_a_ttl(redis_url):
    """Scale-out: the same cache contract on a real redis-server; a cache that is down is a miss."""
    import redis

    from citewise.api.orchestration.cache import RedisAnswerCache, answer_key, make_answer_cache
    from citewise.settings import CacheSettings

    cache = make_answer_cache(CacheSettings(backend="redis", redis_url=redis_url, ttl_s=60), None)
    assert isinstance(cache, RedisAnswerCache)
    key = answer_key(tenant="t", principals=["user:a"], question="Q?", query="Q?", summary="", chunk_ids=["c1"],
                     profile="p", template="answer@2")  # fmt: skip
    assert cache.get(key) is None
    cache.put(key, {"answer": "A [1]."})
    assert cache.get(key) == {"answer": "A [1]."}
    assert 0 < redis.Redis.from_url(redis_url).ttl(f"citewise:answer:{key}") <= 60
    other = answer_key(tenant="t", principals=["user:b"], question="q", query="q", summary="", chunk_ids=["c1"],
                       profile="p", template="answer@2")  # fmt: skip
    assert other != key and cache.get(other) is None
    down = RedisAnswerCache("redis://127.0.0.1:9/0", 60)
    assert down.get(key) is None
    down.put(key, {"answer": "x"})  # no error: the answer is still served, just not cached


def test_db_entries_expire_after_their_ttl(tmp_path):
    from sqlalchemy import update

    import citewise.api.orchestration.cache  # noqa: F401  (register the table)
    from citewise.api.orchestration.cache import CachedAnswer, DbAnswerCache
    from citewise.db import init_db, utcnow

    db = init_db(f"sqlite:///{tmp_path / 'c.db'}")
    cache = DbAnswerCache(db, ttl_s=60)
    cache.put("k", {"answer": "A."})
    assert cache.get("k") == {"answer": "A."}
    with db.begin() as s:
        s.execute(update(CachedAnswer).values(expires_at=utcnow()))
    assert cache.get("k") is None
