"""Which local paths a connector added through the API may read: only inside the roots the operator allowed
for the tenant (`CITEWISE_API__CONNECTOR_ROOTS`), never inside the data dir (the index, other tenants'
uploads). The CLI, run by the operator on the machine, is not limited."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citewise.connectors.base import Connector
from citewise.errors import PermissionDeniedError


@dataclass(frozen=True)
class PathPolicy:
    allowed_roots: list[Path] = field(default_factory=list)
    forbidden: list[Path] = field(default_factory=list)

    def check(self, connector: type[Connector], config: dict[str, Any]) -> None:
        for option, value in connector.local_paths(config):
            path = Path(os.path.realpath(Path(value).expanduser()))  # links resolved first
            if any(path == f or path.is_relative_to(f) for f in self.forbidden):
                raise PermissionDeniedError(f"{option}: the data dir (index and uploads) cannot be a connector source")
            if not any(path == root or path.is_relative_to(root) for root in self.allowed_roots):
                allowed = ", ".join(str(r) for r in self.allowed_roots) or "none (set CITEWISE_API__CONNECTOR_ROOTS)"
                raise PermissionDeniedError(
                    f"{option}: {path} is outside the folders this tenant may index through the API; allowed: {allowed}"
                )

    @classmethod
    def for_tenant(cls, roots: dict[str, list[str]], tenant: str, data_dir: Path) -> PathPolicy:
        allowed = [Path(os.path.realpath(Path(r).expanduser())) for r in [*roots.get(tenant, []), *roots.get("*", [])]]
        return cls(allowed_roots=allowed, forbidden=[Path(os.path.realpath(data_dir))])
