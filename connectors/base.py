"""The connector contract: a small base class plus optional capability mixins (as in Onyx).

A connector declares what it can do by the mixins it inherits:

- `LoadConnector.load()`: every current item (a full sync).
- `PollConnector.poll(since)`: only items changed since a checkpoint (an incremental sync).
- `ListIdsConnector.list_ids()`: the keys of every current item, cheaply, so deletions are detected.
- `PermissionConnector.permissions(key)`: who may see an item, from the source's own ACLs.
- `VersionedConnector`: items carry a source version; unchanged ones are listed, not fetched.
- `MembershipConnector.memberships()`: who is in the source's groups (a user's groups follow the source).
- `ChangeFeedConnector`: the source's own change feed from a saved cursor (deletions and permission-only
  changes included: `DeletedItem`, `PermissionsChanged`).

Each connector declares its options as a pydantic model (`Config`): its JSON schema is what
`citewise connectors types` and `GET /v1/connector-types` show, its `SecretStr` fields are the credentials
(stored encrypted, never shown). `validate()` checks the options against the source when a connector is added.
Constructors are light (store settings); nothing is opened until a capability method runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from citewise.errors import ConfigError, describe
from citewise.models import RawDocument


def _comma_list(value: Any) -> Any:
    """`--config include=a,b` on the command line: a comma-separated string is a list."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


TextList = Annotated[list[str], BeforeValidator(_comma_list)]


def acl_tag(acl: list[str] | None) -> str:
    """A short digest of an ACL, appended to an item's source version so a permission-only change shows."""
    import hashlib

    return hashlib.sha256(repr(acl).encode()).hexdigest()[:12]


class ConnectorConfig(BaseModel):
    """Base of every connector's options: unknown options are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


def parse_config(model: type[BaseModel], config: dict[str, Any], kind: str) -> Any:
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        raise ConfigError(f"{kind} connector: {describe(exc)}") from exc


class FailedItem(BaseModel):
    """An item the connector found but could not read; ingestion reports it and goes on."""

    key: str
    uri: str
    error: str


class UnchangedItem(BaseModel):
    """An item whose source version equals the one indexed (see `VersionedConnector`): not fetched again."""

    key: str
    uri: str


class DeletedItem(BaseModel):
    """A change feed's deletion (see `ChangeFeedConnector`)."""

    key: str
    uri: str


class PermissionsChanged(BaseModel):
    """Only who may read the item changed: its points' ACL payloads are updated, its content not fetched."""

    key: str
    uri: str
    acl: list[str] | None
    version: str | None = None


class Connector(ABC):
    kind: ClassVar[str]
    Config: ClassVar[type[BaseModel]] = ConnectorConfig  # the options, as users write them
    path_options: ClassVar[tuple[str, ...]] = ()  # config options naming local paths (see connectors.paths)

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        self.acl = acl
        self.config = config

    @property
    @abstractmethod
    def source_id(self) -> str:
        """Stable id of this source (the same configuration gives the same id across runs)."""

    @classmethod
    def local_paths(cls, config: dict[str, Any]) -> list[tuple[str, str]]:
        """(option, local path) pairs this config would read or write, for the API's PathPolicy: by default
        the `path_options`; connectors whose URLs can name local files (file://, sqlite:///) add those."""
        return [(o, str(config[o])) for o in cls.path_options if config.get(o)]

    def validate(self) -> None:
        """Check the options and credentials against the source (reachable, signed in, allowed to list);
        raise ConfigError saying what to fix. Runs when a connector is added, before any job."""
        return None  # a connector with nothing to check


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


class VersionedConnector(Connector):
    """A source whose items carry a version (ETag, commit, updated-at). Before `load()`, the ingestor passes
    the versions it indexed (`uri -> version`); the connector yields an `UnchangedItem` instead of fetching
    an item whose version matches. This is also how an interrupted sync resumes: what was indexed before
    the crash is listed, not fetched, parsed or embedded again."""

    known_versions: dict[str, str]

    def set_known_versions(self, versions: dict[str, str]) -> None:
        self.known_versions = dict(versions)

    def unchanged(self, uri: str, version: str | None) -> bool:
        return version is not None and getattr(self, "known_versions", {}).get(uri) == version


class ChangeFeedConnector(Connector):
    """A source with its own change feed (Microsoft Graph delta, Google Drive changes). The ingestor passes
    the cursor it saved after the last complete sync (`None` the first time); `load()` then yields only what
    changed since it, `DeletedItem`s included, and leaves the cursor for next time in `next_cursor`. Without
    a cursor, `load()` yields every item and deletions are found as for any full load. The cursor is saved
    only after a sync completes, so a killed sync reads the same changes again (idempotently)."""

    cursor: str | None = None
    next_cursor: str | None = None

    def set_cursor(self, cursor: str | None) -> None:
        self.cursor = cursor


class MembershipConnector(Connector):
    """A source whose groups have members Citewise should know (Confluence and Jira groups, Entra groups):
    after each sync the ingestor stores `memberships()` for the tenant, replacing the source's previous
    list, and a user's API key gains those groups at lookup. Before the sync the ingestor passes the groups
    it stored for the source last time (`known_groups`), so an incremental sync that read few ACLs can still
    refresh every group it knows (a member removed from a group changes no item)."""

    known_groups: set[str] = frozenset()  # type: ignore[assignment]

    def set_known_groups(self, groups: set[str]) -> None:
        self.known_groups = set(groups)

    @abstractmethod
    def memberships(self) -> Iterator[tuple[str, str]]:
        """(`user:<email>`, `group:<name>`) pairs, every one the source has for the groups that matter."""

    def membership_scope(self) -> set[str] | None:
        """The groups `memberships()` covered (only their stored members are replaced), or None: all of the
        source's. A change feed that read only some ACLs in this sync covers only the groups they named."""
        return None
