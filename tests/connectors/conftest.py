"""Real servers for the connector tests, started once per session by the tests themselves."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from citewise.evals.common import free_port


def wait_until_ready(url: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """moto's standalone server (`moto_server`), an S3 API on a loopback port."""
    port = free_port()
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url + "/moto-api/", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


DOVECOT_USERS = {"ann@example.com": "ann-pw-7f3k", "bob@example.com": "bob-pw-9q2z"}


@pytest.fixture(scope="session")
def dovecot():
    """A real Dovecot IMAP server (Debian's dovecot-imapd, installed by `make test`) on a loopback port,
    plain IMAP with passwd-file users, maildirs in a temp dir; stopped at the end of the session."""
    import os
    import pwd
    import shutil as sh
    import tempfile

    binary = sh.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        raise RuntimeError("dovecot is missing: `make test` installs it (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="citewise-dovecot-"))
    root.chmod(0o755)  # dovecot's auth process (its own user) reads the users file in here
    port = free_port()
    me = pwd.getpwuid(os.getuid()).pw_name
    mail_user = "dovecot" if os.getuid() == 0 else me
    (root / "mail").mkdir()
    if os.getuid() == 0:
        sh.chown(root / "mail", mail_user, mail_user)
    (root / "users").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in DOVECOT_USERS.items()))
    internal = "" if os.getuid() == 0 else f"default_internal_user = {me}\ndefault_login_user = {me}\n"
    (root / "dovecot.conf").write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
{internal}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
    )
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    import socket

    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(
                f"dovecot did not start: {proc.stderr.read().decode() if proc.stderr else ''} {log[-2000:]}"
            )
        time.sleep(0.1)
    try:
        yield {"host": "127.0.0.1", "port": port, "users": DOVECOT_USERS}
    finally:
        proc.terminate()
        proc.wait(10)
        sh.rmtree(root, ignore_errors=True)


def linked_user(settings, email: str, *externals: str):  # noqa: ANN001, ANN201
    """The identity an API key for `email` gets, with these source ids linked to it (`citewise identities`)."""
    from citewise.db import init_db
    from citewise.identity import create_key, link_identity, lookup

    db = init_db(settings.db_url)
    for external in externals:
        link_identity(db, "default", external, email)
    return lookup(db, create_key(db, tenant="default", user_id=email, groups=[]))
