"""A folder (recursively) or a single file on the local file system, read as untrusted input.

Path policy: a symlink is followed only when it resolves inside the connector's root (and not at all with
`follow_symlinks=False`); one that points outside is reported, never read. Only regular files are read:
FIFOs, sockets and devices are reported with a reason and never opened (opening a FIFO would block).
Files are read in bounded pieces, up to the size limit, from a descriptor checked again after opening.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from citewise.connectors.base import ConnectorConfig, FailedItem, ListIdsConnector, LoadConnector, PollConnector
from citewise.errors import ConfigError
from citewise.models import RawDocument

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", ".citewise"}
READ_CHUNK = 1 << 20
_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}  # fmt: skip


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Skip(Exception):
    """An entry that is reported, not read."""


class FilesystemConfig(ConnectorConfig):
    path: str = Field(description="a folder (read recursively) or one file")
    max_bytes: int | None = Field(None, ge=1, description="files larger than this are reported, not read")
    follow_symlinks: bool = Field(True, description="follow links that stay inside the folder")


class FilesystemConnector(LoadConnector, PollConnector, ListIdsConnector):
    kind = "filesystem"
    Config = FilesystemConfig
    path_options = ("path",)  # local paths in the config: checked by the API's PathPolicy

    def __init__(
        self, *, path: str | Path, max_bytes: int | None = None, follow_symlinks: bool = True, **config: Any
    ) -> None:
        super().__init__(**config)
        self.root = Path(path).expanduser().resolve()
        self.max_bytes = max_bytes
        self.follow_symlinks = follow_symlinks in (True, "true", "1", "yes")  # CLI --config values are text

    @property
    def source_id(self) -> str:
        return f"filesystem:{self.root}"

    def validate(self) -> None:
        if not self.root.exists():
            raise ConfigError(f"path: no such file or folder: {self.root}")
        if self.root.is_dir() and not os.access(self.root, os.R_OK | os.X_OK):
            raise ConfigError(f"path: the folder {self.root} cannot be read by this process")

    def _inside(self, path: Path) -> bool:
        return path == self.root or path.is_relative_to(self.root)

    def _entries(self) -> Iterator[Path | FailedItem]:
        """Every file under the root (paths as found, not resolved), or a FailedItem saying why one is skipped."""
        if self.root.is_file():
            yield self.root
            return
        if not self.root.is_dir():
            raise FileNotFoundError(f"no such file or folder: {self.root}")
        seen_dirs = {self.root}
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                names = sorted(os.listdir(folder))
            except OSError as exc:
                yield self._failed(folder, f"unreadable folder: {exc.strerror or exc}")
                continue
            subdirs = []
            for name in names:
                if name.startswith("."):
                    continue
                path = folder / name
                if not _utf8(name):  # os.listdir hands such bytes back as surrogates: no key or URI can hold them
                    shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                    yield FailedItem(
                        key=self._key(folder / shown),
                        uri=str(folder / shown),
                        error="unreadable_name: the file name is not valid UTF-8; rename the file",
                    )
                    continue
                try:
                    target = self._target(path)
                except _Skip as why:
                    yield self._failed(path, str(why))
                    continue
                if stat.S_ISDIR(os.stat(target).st_mode):
                    if name not in SKIP_DIRS and target not in seen_dirs:  # a link loop is walked once
                        seen_dirs.add(target)
                        subdirs.append(path)
                    continue
                yield path
            stack.extend(reversed(subdirs))

    def _target(self, path: Path) -> Path:
        """Where `path` leads, if the policy allows reading it."""
        if not path.is_symlink():
            return path
        if not self.follow_symlinks:
            raise _Skip("symlink_skipped: symbolic links are not followed for this connector")
        target = Path(os.path.realpath(path))
        if not self._inside(target):
            raise _Skip(f"symlink_outside_root: the link points outside the connector's folder ({self.root})")
        if not target.exists():
            raise _Skip("unreadable: the symbolic link is broken")
        return target

    def _failed(self, path: Path, error: str) -> FailedItem:
        return FailedItem(key=self._key(path), uri=str(path), error=error)

    def _key(self, path: Path) -> str:
        return path.name if self.root.is_file() else path.relative_to(self.root).as_posix()

    def list_ids(self) -> Iterator[str]:
        for entry in self._entries():
            yield entry.key if isinstance(entry, FailedItem) else self._key(entry)

    def load(self) -> Iterator[RawDocument | FailedItem]:
        for entry in self._entries():
            yield entry if isinstance(entry, FailedItem) else self._read(entry)

    def poll(self, since: datetime) -> Iterator[RawDocument | FailedItem]:
        cutoff = since.timestamp()
        for entry in self._entries():
            if isinstance(entry, FailedItem):
                yield entry
                continue
            try:
                if os.stat(entry).st_mtime > cutoff:
                    yield self._read(entry)
            except OSError as exc:
                yield self._failed(entry, f"unreadable: {exc.strerror}")

    def _read(self, path: Path) -> RawDocument | FailedItem:
        key, uri = self._key(path), str(path)
        try:
            st = os.stat(path)  # follows an allowed link; the descriptor is checked again below
            if not stat.S_ISREG(st.st_mode):
                what = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
                return FailedItem(key=key, uri=uri, error=f"not_a_regular_file: {what} is never read")
            too_big = self.max_bytes is not None and st.st_size > self.max_bytes
            content = None if too_big else self._read_bounded(path)
        except _Skip as why:
            return FailedItem(key=key, uri=uri, error=str(why))
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

    def _read_bounded(self, path: Path) -> bytes | None:
        """The file's bytes, in pieces, never past the size limit; None when it grew past it meanwhile."""
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in after the check cannot block us
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _Skip("not_a_regular_file: the entry changed into a non-file while being read")
            limit = self.max_bytes if self.max_bytes is not None else float("inf")
            parts, size = [], 0
            while chunk := os.read(fd, READ_CHUNK):
                size += len(chunk)
                if size > limit:
                    return None
                parts.append(chunk)
            return b"".join(parts)
        finally:
            os.close(fd)
