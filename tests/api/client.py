"""Request helpers for the HTTP tests."""


def auth(keys, who):
    return {"Authorization": f"Bearer {keys[who]}"}


def ask(client, keys, who, question, **extra):
    r = client.post("/v1/chat", json={"question": question, **extra}, headers=auth(keys, who))
    assert r.status_code == 200, r.text
    return r.json()
