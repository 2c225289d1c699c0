"""The connector contract: a small base class plus optional capability mixins (as in Onyx).

A connector declares what it can do by the mixins it inherits:

- `LoadConnector.load()`: every current item (a full sync).
- `PollConnector.poll(since)`: only items changed since a checkpoint (an incremental sync).
- `ListIdsConnector.list_ids()`: the keys of every current item, cheaply, so deletions are detected.
- `PermissionConnector.permissions(key)`: who may see an item, from the source's own ACLs.

Constructors are light (store settings); nothing is opened until a capability method runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from citewise.models import RawDocument


class FailedItem(BaseModel):
    """An item the connector found but could not read; ingestion reports it and goes on."""

    key: str
    uri: str
    error: str


class Connector(ABC):
    kind: ClassVar[str]
    path_options: ClassVar[tuple[str, ...]] = ()  # config options naming local paths (see connectors.paths)

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        self.acl = acl
        self.config = config

    @property
    @abstractmethod
    def source_id(self) -> str:
        """Stable id of this source (the same configuration gives the same id across runs)."""


class LoadConnector(Connector):
    @abstractmethod
    def load(self) -> Iterator[RawDocument | FailedItem]: ...


class PollConnector(Connector):
    @abstractmethod
    def poll(self, since: datetime) -> Iterator[RawDocument | FailedItem]: ...


class ListIdsConnector(Connector):
    @abstractmethod
    def list_ids(self) -> Iterator[str]: ...


class PermissionConnector(Connector):
    @abstractmethod
    def permissions(self, key: str) -> list[str] | None: ...
