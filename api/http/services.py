"""Everything a request needs, opened once at startup and shared (heavy models load once).

One process holds the index (Qdrant Edge locks its folder), the encoder and the metadata DB.
"""

from __future__ import annotations

import threading
from functools import cached_property

from citewise.api.http.observability import Metrics
from citewise.api.orchestration.audit import AuditLog
from citewise.api.orchestration.cache import make_answer_cache
from citewise.api.orchestration.guardrails import RateLimit
from citewise.api.orchestration.pipeline import ChatPipeline
from citewise.api.orchestration.prompts import PromptRegistry
from citewise.api.orchestration.review import ReviewQueue
from citewise.api.orchestration.sessions import SessionStore
from citewise.api.orchestration.telemetry import Telemetry, configure_tracing, flush_tracing
from citewise.connectors.credentials import SecretBox
from citewise.db import init_db
from citewise.evals.runs import EvalRuns
from citewise.ingest.documents import DocumentService
from citewise.ingest.jobs import JobStore
from citewise.ingest.pipeline import Ingestor
from citewise.ingest.reindex import Reindexer
from citewise.ingest.runners import JobRunner, Scheduler, make_runner
from citewise.retrieval.retriever import Retriever
from citewise.settings import Settings


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.write_lock = threading.Lock()
        self.metrics = Metrics()
        self.rate_limit = RateLimit(settings.guards.rate_limit_per_minute)
        self.scheduler: Scheduler | None = None

    @cached_property
    def db(self):  # noqa: ANN201
        import citewise.api.orchestration.audit  # noqa: F401  (register tables)
        import citewise.api.orchestration.cache  # noqa: F401
        import citewise.api.orchestration.prompts  # noqa: F401
        import citewise.api.orchestration.review  # noqa: F401
        import citewise.api.orchestration.sessions  # noqa: F401
        import citewise.identity  # noqa: F401
        import citewise.ingest.state  # noqa: F401

        return init_db(self.settings.db_url)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.settings)

    @cached_property
    def reindexer(self) -> Reindexer:
        return Reindexer(self.settings, self.ingestor.index, self.write_lock)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.settings, index=self.ingestor.index)  # one live generation for both

    @cached_property
    def telemetry(self) -> Telemetry:
        return Telemetry(self.metrics.registry)  # served at /metrics beside the HTTP series

    @cached_property
    def prompts(self) -> PromptRegistry:
        return PromptRegistry(self.db)

    @cached_property
    def review(self) -> ReviewQueue:
        return ReviewQueue(self.db)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.db, self.settings.telemetry)

    @cached_property
    def pipeline(self) -> ChatPipeline:
        configure_tracing(self.settings.telemetry)
        pipeline = ChatPipeline(
            self.settings,
            self.retriever,
            prompts=self.prompts,
            cache=make_answer_cache(self.settings.cache, self.db),
            telemetry=self.telemetry,
        )
        self.telemetry.watch(pipeline.health, self.retriever.query_vectors)
        return pipeline

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.db)

    @cached_property
    def documents(self) -> DocumentService:
        return DocumentService(self.settings, self.ingestor, self.write_lock)

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.db, SecretBox.for_settings(self.settings))

    @cached_property
    def evals(self) -> EvalRuns:
        return EvalRuns(self.settings)

    @cached_property
    def runner(self) -> JobRunner:
        """In-process jobs share the server's ingestor (one writer to the embedded index); Celery jobs go out."""
        return make_runner(self.settings, self.ingestor, self.write_lock)

    def open(self) -> None:
        self.db  # noqa: B018
        self.ingestor.encoder.embed_query("warm up")
        self.ingestor.store.count()
        self.documents.recover()  # uploads a crash left half-written are rolled back before anyone searches
        self.reindexer.resume_or_follow_settings()
        self.pipeline  # noqa: B018
        if self.settings.jobs.backend == "inprocess":  # the embedded profile's timer for connector intervals
            self.scheduler = Scheduler(self.jobs, self.runner, self.settings.jobs.schedule_check_s)
            self.scheduler.start()

    def close(self) -> None:
        flush_tracing()
        if self.scheduler is not None:
            self.scheduler.stop()
        if "runner" in self.__dict__ and hasattr(self.runner, "shutdown"):
            self.runner.shutdown()
        if "reindexer" in self.__dict__:
            self.reindexer.stop()
        if "documents" in self.__dict__:
            self.documents.close()  # queued uploads finish first
        if "evals" in self.__dict__:
            self.evals.close()
        if "ingestor" in self.__dict__:
            self.ingestor.close()
