"""A folder (recursively) or a single file on the local file system."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citewise.connectors.base import FailedItem, ListIdsConnector, LoadConnector, PollConnector
from citewise.models import RawDocument

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", ".citewise"}


class FilesystemConnector(LoadConnector, PollConnector, ListIdsConnector):
    kind = "filesystem"

    def __init__(self, *, path: str | Path, max_bytes: int | None = None, **config: Any) -> None:
        super().__init__(**config)
        self.root = Path(path).expanduser().resolve()
        self.max_bytes = max_bytes

    @property
    def source_id(self) -> str:
        return f"filesystem:{self.root}"

    def _files(self) -> Iterator[Path]:
        if self.root.is_file():
            yield self.root
            return
        if not self.root.is_dir():
            raise FileNotFoundError(f"no such file or folder: {self.root}")
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield Path(dirpath) / name

    def _key(self, path: Path) -> str:
        return path.name if self.root.is_file() else path.relative_to(self.root).as_posix()

    def list_ids(self) -> Iterator[str]:
        for path in self._files():
            yield self._key(path)

    def load(self) -> Iterator[RawDocument | FailedItem]:
        for path in self._files():
            yield self._read(path)

    def poll(self, since: datetime) -> Iterator[RawDocument | FailedItem]:
        cutoff = since.timestamp()
        for path in self._files():
            try:
                if path.stat().st_mtime > cutoff:
                    yield self._read(path)
            except OSError as exc:
                yield FailedItem(key=self._key(path), uri=str(path), error=f"unreadable: {exc.strerror}")

    def _read(self, path: Path) -> RawDocument | FailedItem:
        key, uri = self._key(path), str(path)
        try:
            st = path.stat()
            too_big = self.max_bytes is not None and st.st_size > self.max_bytes
            content = None if too_big else path.read_bytes()
        except OSError as exc:
            return FailedItem(key=key, uri=uri, error=f"unreadable: {exc.strerror or exc}")
        return RawDocument(
            source_id=self.source_id,
            key=key,
            uri=uri,
            title=path.stem,
            content=content,
            mime_type=mimetypes.guess_type(path.name)[0],
            modified_at=datetime.fromtimestamp(st.st_mtime, UTC),
            version=f"{st.st_size}-{st.st_mtime_ns}",
            acl=self.acl,
            metadata={"size_bytes": st.st_size, "filename": path.name},
        )
