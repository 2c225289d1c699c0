"""Connector credentials: sealed with Fernet, rotated to a new key, opened only with a key that made them,
and never in a log line, an error, an API response or a job record (the test greps all of them)."""

from __future__ import annotations

import logging
import stat

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from typer.testing import CliRunner

from citewise.api.cli.main import app
from citewise.connectors.credentials import SecretBox, redactor, secret_fields
from citewise.connectors.imap import ImapConfig
from citewise.connectors.s3 import S3Config
from citewise.connectors.sql import SqlConfig
from citewise.errors import ConfigError
from citewise.ingest.jobs import JobStore, run_sync_job
from citewise.settings import Settings


def test_secret_fields_come_from_the_config_models():
    assert secret_fields(S3Config) == {"access_key_id", "secret_access_key"}
    assert secret_fields(SqlConfig) == {"url"} and secret_fields(ImapConfig) == {"password"}


def test_seal_open_and_rotate(tmp_path):
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = SecretBox([old]).seal({"password": SecretStr("pw-1"), "user": "ann"})
    assert b"pw-1" not in token.encode() and SecretBox([old]).open(token) == {"password": "pw-1", "user": "ann"}
    both = SecretBox([new, old])
    rotated = both.rotate(token)
    assert SecretBox([new]).open(rotated)["password"] == "pw-1"
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        SecretBox([new]).open(token)
    with pytest.raises(ConfigError, match="not a Fernet key"):
        SecretBox([b"short"])
    settings = Settings(data_dir=tmp_path / "data")
    SecretBox.for_settings(settings)
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and SecretBox.for_settings(settings).open(
        SecretBox.for_settings(settings).seal({"a": "b"})
    ) == {"a": "b"}


def test_redactor_blanks_raw_and_url_encoded_values():
    redact = redactor({"password": SecretStr("p@ss w0rd!")})
    assert (
        redact("login p@ss w0rd! failed for postgresql://u:p%40ss%20w0rd%21@h")
        == "login *** failed for postgresql://u:***@h"
    )


def test_no_credential_in_logs_errors_responses_or_job_records(tmp_path, monkeypatch, caplog, dovecot):
    password = dovecot["users"]["ann@example.com"]
    monkeypatch.setenv("CITEWISE_DATA_DIR", str(tmp_path / "data"))
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    imap = {"host": "127.0.0.1", "port": dovecot["port"], "ssl": "false", "username": "ann@example.com"}
    base = [
        "connectors",
        "add",
        "mail",
        "--type",
        "imap",
        *[a for k, v in imap.items() for a in ("--config", f"{k}={v}")],
    ]
    wrong = runner.invoke(app, [*base, "--config", "password=Wr0ng-Secret-42"])
    assert wrong.exit_code == 2 and "wrong user or password" in wrong.output and "Wr0ng-Secret-42" not in wrong.output
    unreachable = runner.invoke(
        app,
        [
            "connectors",
            "add",
            "db",
            "--type",
            "sql",
            "--config",
            "url=postgresql+psycopg://u:Db-Secret-77@127.0.0.1:9/x",
            "--config",
            "query=SELECT 1 AS id, 'x' AS body",
            "--config",
            "text_columns=body",
        ],  # fmt: skip
    )
    assert (
        unreachable.exit_code == 2 and "cannot reach" in unreachable.output and "Db-Secret-77" not in unreachable.output
    )
    added = runner.invoke(app, [*base, "--config", f"password={password}", "--config", "folders=INBOX", "--json"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["connectors", "list", "--json"])
    synced = runner.invoke(app, ["connectors", "sync", "mail", "--json"])
    assert synced.exit_code == 0, synced.output
    settings = Settings()
    store = JobStore.for_settings(settings)
    info = store.connector("mail")
    with store.sessions.begin() as s:  # the mailbox's password changes: the next sync fails, without the password
        from citewise.ingest.jobs import ConnectorRow

        row = s.get(ConnectorRow, info.id)
        row.secrets = store.box.seal({"password": "Changed-Secret-5"})
    with pytest.raises(Exception, match="wrong user or password"):  # noqa: B017
        run_sync_job(store.create_job(info.id, "inline"), settings=settings)
    jobs = runner.invoke(app, ["jobs", "--json"])
    everything = "\n".join(
        [wrong.output, unreachable.output, added.output, listed.output, synced.output, jobs.output, caplog.text]
    )
    raw_db = (tmp_path / "data" / "citewise.db").read_bytes()
    for secret in (password, "Wr0ng-Secret-42", "Db-Secret-77", "Changed-Secret-5"):
        assert secret not in everything and secret.encode() not in raw_db
