"""Shared fixtures. Heavy things (tokenizer, OpenVINO encoder) load once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from citewise.evals.common import free_port
from citewise.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = FIXTURES / "docs"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def tokenizer():
    from citewise.retrieval.encoders.model_files import load_tokenizer, resolve_model_dir

    return load_tokenizer(resolve_model_dir(Settings().embedding))


@pytest.fixture(scope="session")
def encoder():
    from citewise.retrieval.encoders.dense import OpenVinoEncoder

    enc = OpenVinoEncoder(Settings().embedding)
    enc.embed_query("warm up")
    return enc


@pytest.fixture(scope="session")
def e5():
    """The multilingual encoder (embedding.backend=e5), loaded once."""
    from citewise.retrieval.encoders.dense import load_dense_encoder

    return load_dense_encoder(Settings().embedding, "e5")


def _pg_bin(name: str) -> str:
    import glob
    import shutil

    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found; install the Debian package postgresql")
    return found


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL cluster in a temp dir on a loopback port, started and stopped by the tests.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user.
    """
    import os
    import shutil
    import subprocess
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="citewise-pg-"))  # not under pytest's tmp: that is private to root
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(_pg_bin("initdb"), "-D", str(data), "-U", "citewise", "--auth=trust", "-E", "UTF8")
    hba = data / "pg_hba.conf"  # the role `secured` signs in with a password (the connector tests' wrong password)
    rules = "host all secured 127.0.0.1/32 scram-sha-256\n" + run("cat", str(hba)).stdout.decode()
    subprocess.run([*as_user, "tee", str(hba)], input=rules.encode(), check=True, capture_output=True)
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(_pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://citewise@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty metadata database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    import uuid

    from sqlalchemy import create_engine, text

    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a loopback port (make test installs it from Debian when missing)."""
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: `make test` installs it (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
