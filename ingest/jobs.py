"""Connector syncs as jobs: the connectors and jobs tables, the one job function, and progress reporting.

`run_sync_job(job_id, settings=..., ingestor=...)` is the only job signature; the in-process pool and the
Celery task both call it. It is idempotent by construction (deterministic point ids + sync state), so a
job redelivered after a worker died simply converges the index. A per-connector lock keeps two syncs of
one source from running at once.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from citewise.connectors.base import parse_config
from citewise.connectors.credentials import SecretBox, redactor, secret_fields
from citewise.connectors.paths import PathPolicy
from citewise.db import Base, init_db, timestamp, utcnow
from citewise.errors import CitewiseError, ConfigError, ConflictError, NotFoundError, TransientError
from citewise.redact import redact_secrets
from citewise.settings import Settings


class ConnectorRow(Base):
    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("tenant", "name", name="uq_connectors_tenant_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str] = mapped_column(String(100))
    config: Mapped[str] = mapped_column(Text)  # the plain options, JSON
    secrets: Mapped[str] = mapped_column(Text, default="")  # the credentials, JSON sealed by SecretBox
    acl: Mapped[str] = mapped_column(Text, default="[]")
    interval_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = timestamp()


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    connector_id: Mapped[str] = mapped_column(ForeignKey("connectors.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | running | succeeded | failed
    backend: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = timestamp()
    started_at: Mapped[datetime | None] = timestamp(nullable=True)
    finished_at: Mapped[datetime | None] = timestamp(nullable=True)


class ConnectorInfo(BaseModel):
    id: str
    name: str
    tenant: str
    type: str
    config: dict[str, Any] = Field(description="the plain options; credentials are never here")
    secrets: list[str] = Field(default_factory=list, description="names of the credentials stored (encrypted)")
    acl: list[str]
    interval_s: int | None


class JobInfo(BaseModel):
    id: str
    connector_id: str
    connector: str
    status: str
    backend: str
    total: int
    done: int
    failed: int
    chunks: int
    errors: list[dict[str, str]]
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobStore:
    def __init__(self, sessions: sessionmaker, box: SecretBox | None = None) -> None:
        self.sessions = sessions
        self.box = box  # needed to add connectors with credentials and to open them for a sync

    @classmethod
    def for_settings(cls, settings: Settings) -> JobStore:
        return cls(init_db(settings.db_url), SecretBox.for_settings(settings))

    # connectors
    def add_connector(
        self,
        name: str,
        type_: str,
        config: dict[str, Any],
        *,
        tenant: str,
        acl: list[str],
        interval_s: int | None,
        path_policy: PathPolicy | None = None,
    ) -> ConnectorInfo:
        """Register a connector after checking its options against its config model and the source itself
        (`validate`); `path_policy` (the API's) limits which local paths it may read. Credentials are sealed
        apart from the plain options."""
        from citewise.connectors import available_connectors

        known = available_connectors()
        if type_ not in known:
            raise ConfigError(f"unknown connector type {type_!r}; available: {', '.join(sorted(known))}")
        cls = known[type_]
        if path_policy is not None:
            path_policy.check(cls, config)
        parse_config(cls.Config, config, type_)
        hidden = secret_fields(cls.Config)
        secrets = {k: v for k, v in config.items() if k in hidden and v not in (None, "")}
        plain = {k: v for k, v in config.items() if k not in hidden}
        if secrets and self.box is None:
            raise ConfigError("this store cannot keep credentials: no secret key is configured")
        with self.sessions() as s:
            if s.scalar(select(ConnectorRow).where(ConnectorRow.name == name, ConnectorRow.tenant == tenant)):
                raise ConflictError(f"a connector named {name!r} exists already")
        check_source(cls, config, acl)
        with self.sessions.begin() as s:
            taken = select(ConnectorRow).where(ConnectorRow.name == name, ConnectorRow.tenant == tenant)
            if s.scalar(taken) is not None:
                raise ConflictError(f"a connector named {name!r} exists already")
            row = ConnectorRow(
                id=str(uuid.uuid4()), name=name, tenant=tenant, type=type_, config=json.dumps(plain),
                secrets=self.box.seal(secrets) if secrets else "", acl=json.dumps(acl), interval_s=interval_s,
            )  # fmt: skip
            s.add(row)
            return _connector_info(row)

    def source_config(self, connector_id: str) -> dict[str, Any]:
        """The options a sync builds the connector from: plain options and opened credentials."""
        with self.sessions() as s:
            row = s.get(ConnectorRow, connector_id)
            if row is None:
                raise NotFoundError(f"no connector {connector_id}")
            plain, sealed = json.loads(row.config), row.secrets
        if sealed and self.box is None:
            raise ConfigError("the connector's credentials are encrypted and no secret key is configured")
        return {**plain, **(self.box.open(sealed) if sealed else {})}

    def rotate_secrets(self) -> int:
        """Re-encrypt every connector's credentials under the newest key; returns how many were rewritten."""
        if self.box is None:
            raise ConfigError("no secret key is configured")
        n = 0
        with self.sessions.begin() as s:
            for row in s.scalars(select(ConnectorRow).where(ConnectorRow.secrets != "")):
                row.secrets = self.box.rotate(row.secrets)
                n += 1
        return n

    def connector(self, ref: str, tenant: str | None = None) -> ConnectorInfo | None:
        """By id or by name; `tenant` limits the search to one tenant (the API always passes the caller's)."""
        with self.sessions() as s:
            row = _find(s, ref, tenant)
            return _connector_info(row) if row is not None else None

    def require_connector(self, ref: str, tenant: str | None = None) -> ConnectorInfo:
        found = self.connector(ref, tenant)
        if found is None:
            raise NotFoundError(f"no connector named {ref!r}" + (" in this tenant" if tenant else ""))
        return found

    def connectors(self, tenant: str | None = None) -> list[ConnectorInfo]:
        with self.sessions() as s:
            q = select(ConnectorRow).order_by(ConnectorRow.name)
            if tenant is not None:
                q = q.where(ConnectorRow.tenant == tenant)
            return [_connector_info(r) for r in s.scalars(q)]

    def remove_connector(self, ref: str, tenant: str | None = None) -> bool:
        with self.sessions.begin() as s:
            row = _find(s, ref, tenant)
            if row is None:
                return False
            for job in s.scalars(select(JobRow).where(JobRow.connector_id == row.id)):
                s.delete(job)
            s.delete(row)
            return True

    # jobs
    def create_job(self, connector_id: str, backend: str) -> str:
        job_id = str(uuid.uuid4())
        with self.sessions.begin() as s:
            s.add(JobRow(id=job_id, connector_id=connector_id, status="queued", backend=backend))
        return job_id

    def job(self, job_id: str) -> JobInfo | None:
        with self.sessions() as s:
            row = s.get(JobRow, job_id)
            return None if row is None else _job_info(row, s.get(ConnectorRow, row.connector_id))

    def require_job(self, job_id: str, tenant: str) -> JobInfo:
        """The job, if its connector belongs to `tenant` (another tenant's job is not found)."""
        job = self.job(job_id)
        if job is None or self.connector(job.connector_id, tenant=tenant) is None:
            raise NotFoundError(f"no job {job_id!r} in this tenant")
        return job

    def jobs(self, connector_id: str | None = None, tenant: str | None = None, limit: int = 100) -> list[JobInfo]:
        with self.sessions() as s:
            q = select(JobRow, ConnectorRow).join(ConnectorRow, JobRow.connector_id == ConnectorRow.id)
            if connector_id:
                q = q.where(JobRow.connector_id == connector_id)
            if tenant:
                q = q.where(ConnectorRow.tenant == tenant)
            q = q.order_by(JobRow.created_at.desc()).limit(limit)
            return [_job_info(j, c) for j, c in s.execute(q)]

    def update(self, job_id: str, **fields: Any) -> None:
        with self.sessions.begin() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise CitewiseError(f"job {job_id} not found")
            for key, value in fields.items():
                setattr(row, key, json.dumps(value) if key == "errors" else value)

    def last_job_at(self, connector_id: str) -> datetime | None:
        with self.sessions() as s:
            return s.scalar(
                select(JobRow.created_at).where(JobRow.connector_id == connector_id).order_by(JobRow.created_at.desc())
            )


def _find(s: Session, ref: str, tenant: str | None) -> ConnectorRow | None:
    row = s.get(ConnectorRow, ref)
    if row is None:
        q = select(ConnectorRow).where(ConnectorRow.name == ref)
        rows = list(s.scalars(q if tenant is None else q.where(ConnectorRow.tenant == tenant)))
        if len(rows) > 1:
            raise ConfigError(f"{len(rows)} tenants have a connector named {ref!r}: give its id or the tenant")
        row = rows[0] if rows else None
    return row if row is not None and (tenant is None or row.tenant == tenant) else None


def _connector_info(row: ConnectorRow) -> ConnectorInfo:
    return ConnectorInfo(
        id=row.id, name=row.name, tenant=row.tenant, type=row.type, config=json.loads(row.config),
        secrets=_secret_names(row), acl=json.loads(row.acl), interval_s=row.interval_s,
    )  # fmt: skip


def _secret_names(row: ConnectorRow) -> list[str]:
    """Which credentials a connector has, from its type's config model (the sealed values stay sealed)."""
    if not row.secrets:
        return []
    from citewise.connectors import available_connectors

    cls = available_connectors().get(row.type)
    return sorted(secret_fields(cls.Config)) if cls is not None else []


def check_source(cls: type, config: dict[str, Any], acl: list[str]) -> None:
    """Build the connector and run its `validate()`; any failure is a ConfigError with the credentials
    blanked out of the message."""
    redact = redactor({k: v for k, v in config.items() if k in secret_fields(cls.Config)})
    try:
        cls(**config, acl=acl or None).validate()
    except CitewiseError as exc:
        raise ConfigError(redact(str(exc))) from None
    except Exception as exc:  # noqa: BLE001 - a client library's own error: name it, without secrets
        raise ConfigError(redact(f"{cls.kind} connector: {type(exc).__name__}: {exc}")) from None


def _job_info(row: JobRow, connector: ConnectorRow | None) -> JobInfo:
    return JobInfo(
        id=row.id, connector_id=row.connector_id, connector=connector.name if connector else "", status=row.status,
        backend=row.backend, total=row.total, done=row.done, failed=row.failed, chunks=row.chunks,
        errors=json.loads(row.errors or "[]"), error=row.error, attempts=row.attempts, created_at=row.created_at,
        started_at=row.started_at, finished_at=row.finished_at,
    )  # fmt: skip


class JobRunner(Protocol):
    """Where a job runs (in-process pool or Celery workers); see `citewise.ingest.runners`."""

    backend: str

    def submit(self, job_id: str) -> None: ...


def start_sync(store: JobStore, connector_id: str, runner: JobRunner) -> str:
    job_id = store.create_job(connector_id, runner.backend)
    runner.submit(job_id)
    return job_id


def submit_due(store: JobStore, runner: JobRunner, now: datetime | None = None) -> list[str]:
    """Start a sync for every connector whose interval has passed since its last job."""
    now = now or datetime.now(UTC)
    started = []
    for c in store.connectors():
        if not c.interval_s:
            continue
        last = store.last_job_at(c.id)
        if last is None or (now - last).total_seconds() >= c.interval_s:
            started.append(start_sync(store, c.id, runner))
    return started


class JobProgress:
    """The pipeline's Progress, written to the job row at most every `every_s` seconds."""

    shows_total = True

    def __init__(self, store: JobStore, job_id: str, every_s: float = 1.0) -> None:
        self.store, self.job_id, self.every_s = store, job_id, every_s
        self.total = self.done = self.chunks = 0
        self._last = 0.0

    def start(self, total: int | None, label: str) -> None:
        self.total = total or 0
        self.store.update(self.job_id, total=self.total)

    def advance(self, docs: int = 1, chunks: int = 0) -> None:
        self.done += docs
        self.chunks += chunks
        if time.monotonic() - self._last >= self.every_s:
            self._last = time.monotonic()
            self.store.update(self.job_id, done=self.done, chunks=self.chunks)

    def finish(self) -> None:
        self.store.update(self.job_id, done=self.done, chunks=self.chunks)


@contextmanager
def connector_lock(settings: Settings, connector_id: str, wait_s: float = 3600):  # noqa: ANN201
    """One sync per connector at a time: a Redis lock when jobs go through Celery (many machines),
    a file lock in the data dir otherwise (one machine).

    The Redis lock has a short TTL renewed by a heartbeat thread, so a worker killed mid-sync releases it
    within `lock_ttl_s` and the redelivered job can proceed.
    """
    if settings.jobs.backend == "celery":
        import threading

        import redis

        ttl = settings.jobs.lock_ttl_s
        client = redis.Redis.from_url(settings.jobs.broker_url)
        lock = client.lock(f"citewise:sync:{connector_id}", timeout=ttl, blocking_timeout=wait_s)
        if not lock.acquire():
            raise CitewiseError(f"connector {connector_id} is being synced by another worker")
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(ttl / 3):
                try:
                    lock.reacquire()
                except redis.exceptions.RedisError:
                    return

        beat = threading.Thread(target=heartbeat, daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # expired meanwhile
    else:
        from filelock import FileLock

        path = settings.data_dir / "locks" / f"{connector_id}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path), timeout=wait_s):
            yield


def run_sync_job(job_id: str, *, settings: Settings, ingestor=None) -> JobInfo:  # noqa: ANN001
    """Sync one connector into the index, recording progress and the outcome on the job row.

    Bad documents are reported in the job (`failed`, `errors`) and never fail the job; an error that stops the
    sync (connector unreachable, index locked) marks the job failed and is raised for the runner to retry.
    """
    from citewise.connectors import create_connector
    from citewise.ingest.pipeline import Ingestor

    store = JobStore.for_settings(settings)
    job = store.job(job_id)
    if job is None:
        raise CitewiseError(f"job {job_id} not found")
    connector = store.connector(job.connector_id)
    if connector is None:
        raise CitewiseError(f"connector of job {job_id} was removed")
    store.update(job_id, status="running", started_at=utcnow(), attempts=job.attempts + 1, error=None)
    owned = ingestor is None
    try:
        with connector_lock(settings, connector.id):
            ingestor = ingestor or Ingestor(settings)
            config = store.source_config(connector.id)
            redact = redactor({k: v for k, v in config.items() if k not in connector.config})
            source = create_connector(connector.type, **config, acl=connector.acl or None)
            report = ingestor.sync(source, tenant=connector.tenant, progress=JobProgress(store, job_id))
    except Exception as exc:
        shown = f"{type(exc).__name__}: {exc}"
        message = redact_secrets(redact(shown)) if "redact" in locals() else redact_secrets(shown)
        store.update(job_id, status="failed", error=message[:2000], finished_at=utcnow())
        if message == shown:
            raise
        # the error held a credential: raise it without, keeping whether a retry may help
        transient = isinstance(exc, TransientError | ConnectionError | TimeoutError | OSError)
        raise (TransientError if transient else CitewiseError)(message) from None
    finally:
        if owned and ingestor is not None:
            ingestor.close()
    store.update(
        job_id,
        status="succeeded",
        done=report.added + report.updated + report.unchanged + report.failed,
        failed=report.failed,
        chunks=report.chunks,
        errors=[e.model_dump() for e in report.errors],
        finished_at=utcnow(),
    )
    return store.job(job_id)
