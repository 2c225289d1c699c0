"""Files of a Git repository at a branch: a local repository or a clone URL (the `git` command line).

Each file's version is its blob id, so a sync after new commits reads only the files whose content
changed; renamed and deleted files leave the index under their old path (the new path is a new document).
Metadata: the commit and author that last changed the file, and a link to the file at that commit (GitHub,
GitLab and Gitea style `.../blob/<commit>/<path>` for http(s) remotes). A clone URL is mirrored into a cache
folder and fetched on every sync; a token for private remotes goes in `token` (sent as an HTTP header,
never in the URL, never stored in the clone's config).

The git CLI rather than dulwich: one `git log --name-only` pass maps every path to its last commit, and
`cat-file --batch` streams blobs, both far faster than walking history in pure Python.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    parse_config,
)
from citewise.errors import ConfigError, TransientError
from citewise.models import RawDocument


class GitConfig(ConnectorConfig):
    url: str = Field(description="a clone URL (https://, ssh://, file://) or a local repository path")
    branch: str | None = Field(None, description="unset = the repository's default branch")
    paths: TextList = Field(default_factory=list, description="only files under these folders (or these files)")
    token: SecretStr | None = Field(None, description="for private https remotes: a personal access token")
    cache_dir: str | None = Field(None, description="where clones are kept; unset = ~/.cache/citewise/git")
    max_bytes: int = Field(20_000_000, ge=1, description="larger files are reported, not read")
    timeout_s: float = Field(300.0, gt=0, description="clone and fetch time limit")

    @field_validator("url")
    @classmethod
    def _no_credentials_in_url(cls, value: str) -> str:
        if "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0] and not value.startswith("ssh://"):
            raise ValueError("put the password or token in `token`, not in the URL")
        return value


class GitConnector(LoadConnector, ListIdsConnector, VersionedConnector):
    kind = "git"
    Config = GitConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: GitConfig = parse_config(GitConfig, config, self.kind)
        self.remote = "://" in self.cfg.url or self.cfg.url.startswith("git@")
        self._ready = False

    @classmethod
    def local_paths(cls, config: dict[str, Any]) -> list[tuple[str, str]]:
        url, out = str(config.get("url", "")), []
        if url.startswith("file://"):
            out.append(("url", url.removeprefix("file://")))
        elif url and "://" not in url and not url.startswith("git@"):
            out.append(("url", url))
        if config.get("cache_dir"):
            out.append(("cache_dir", str(config["cache_dir"])))
        return out

    @property
    def source_id(self) -> str:
        where = self.cfg.url if self.remote else str(Path(self.cfg.url).expanduser().resolve())
        return f"git:{where}@{self.cfg.branch or 'HEAD'}"

    @property
    def repo(self) -> Path:
        if not self.remote:
            return Path(self.cfg.url).expanduser().resolve()
        base = Path(self.cfg.cache_dir or Path.home() / ".cache" / "citewise" / "git").expanduser()
        return base / hashlib.sha256(self.cfg.url.encode()).hexdigest()[:16]

    def _git(self, *args: str, input: bytes | None = None, remote: bool = False) -> bytes:  # noqa: A002
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"}
        if remote and self.cfg.token is not None:  # in git's environment: not in argv (ps), not in the clone's config
            basic = base64.b64encode(f"x-access-token:{self.cfg.token.get_secret_value()}".encode()).decode()
            env |= {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}  # fmt: skip
        done = subprocess.run(["git", *args], input=input, capture_output=True, env=env, timeout=self.cfg.timeout_s)
        if done.returncode != 0:
            reason = _reason(done.stderr.decode(errors="replace"))
            raise (TransientError if reason.startswith("cannot reach") else ConfigError)(f"git {args[0]}: {reason}")
        return done.stdout

    def _prepare(self) -> None:
        if self._ready:
            return
        if self.remote:
            if not (self.repo / "HEAD").exists():
                self.repo.parent.mkdir(parents=True, exist_ok=True)
                self._git("clone", "--mirror", "--quiet", self.cfg.url, str(self.repo), remote=True)
            else:
                self._git("-C", str(self.repo), "fetch", "--prune", "--quiet", "origin", remote=True)
        elif not (self.repo / ".git").exists() and not (self.repo / "HEAD").exists():
            raise ConfigError(f"git: {self.repo} is not a git repository")
        self._ready = True

    def _rev(self) -> str:
        ref = self.cfg.branch or "HEAD"
        return self._git("-C", str(self.repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()

    def validate(self) -> None:
        try:
            self._prepare()
        except TransientError as exc:  # when adding the connector, an unreachable remote is a config error
            raise ConfigError(str(exc)) from None
        try:
            self._rev()
        except ConfigError:
            raise ConfigError(f"git: no branch {self.cfg.branch or 'HEAD'!r} in {self.cfg.url}") from None

    def _files(self, commit: str) -> list[tuple[str, str, int]]:
        """(path, blob id, size) of every file at the commit, under `paths`."""
        args = ["-C", str(self.repo), "ls-tree", "-r", "-z", "--long", commit]
        if self.cfg.paths:
            args += ["--", *self.cfg.paths]
        out = []
        for entry in self._git(*args).split(b"\0"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            mode, kind, blob, size = meta.split()
            if kind == b"blob" and mode != b"120000":  # symlinks are not files to read
                out.append((path.decode(errors="surrogateescape"), blob.decode(), int(size)))
        return out

    def _last_commits(self, commit: str) -> dict[str, tuple[str, str, str]]:
        """path -> (commit, author, date) of the commit that last changed it: one pass over history."""
        log = self._git(
            "-C",
            str(self.repo),
            "log",
            "--no-renames",
            "-z",
            "--name-only",
            "--format=%x01%H%x00%an <%ae>%x00%aI",
            commit,
        )
        last: dict[str, tuple[str, str, str]] = {}
        for record in log.split(b"\x01")[1:]:
            parts = record.split(b"\0")
            sha, author, date = (p.decode(errors="replace").strip() for p in parts[:3])
            for name in parts[3:]:
                path = name.decode(errors="surrogateescape").strip("\n")
                if path and path not in last:
                    last[path] = (sha, author, date)
        return last

    def _uri(self, path: str) -> str:
        return f"{self.source_id}:{path}"

    def link(self, commit: str, path: str) -> str:
        url = self.cfg.url.removesuffix(".git")
        if url.startswith(("https://", "http://")):
            return f"{url}/blob/{commit}/{path}"
        return f"{self.source_id.rsplit('@', 1)[0]}@{commit}:{path}"

    def list_ids(self) -> Iterator[str]:
        self._prepare()
        for path, _, _ in self._files(self._rev()):
            yield path

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        self._prepare()
        commit = self._rev()
        files = self._files(commit)
        last = self._last_commits(commit)
        wanted = []
        for path, blob, size in files:
            uri = self._uri(path)
            version = f"{blob}|{self.acl}"
            if self.unchanged(uri, version):
                yield UnchangedItem(key=path, uri=uri)
            elif size > self.cfg.max_bytes:
                yield FailedItem(key=path, uri=uri, error=f"the file is {size:,} bytes, over max_bytes")
            else:
                wanted.append((path, blob, size, version))
        for path, _blob, content, version in self._blobs(wanted):
            sha, author, date = last.get(path, (commit, "", ""))
            yield RawDocument(
                source_id=self.source_id,
                key=path,
                uri=self._uri(path),
                title=path.rsplit("/", 1)[-1],
                content=content,
                version=version,
                acl=self.acl,
                metadata={
                    "filename": path.rsplit("/", 1)[-1], "size_bytes": len(content), "commit": sha, "author": author,
                    "committed_at": date, "link": self.link(sha, path), "branch": self.cfg.branch or "HEAD",
                },
            )  # fmt: skip

    def _blobs(self, wanted: list[tuple[str, str, int, str]]) -> Iterator[tuple[str, str, bytes, str]]:
        """The blobs' contents through one `git cat-file --batch` process, streamed in order."""
        if not wanted:
            return
        proc = subprocess.Popen(
            ["git", "-C", str(self.repo), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert proc.stdin and proc.stdout
        try:
            for path, blob, _, version in wanted:
                proc.stdin.write(f"{blob}\n".encode())
                proc.stdin.flush()
                header = proc.stdout.readline().split()
                size = int(header[2])
                content = proc.stdout.read(size)
                proc.stdout.read(1)  # the newline after each object
                yield path, blob, content, version
        finally:
            proc.stdin.close()
            proc.wait(30)


def _reason(stderr: str) -> str:
    lowered = stderr.lower()
    fatal = next((line for line in stderr.splitlines() if line.startswith("fatal:")), stderr.strip())
    first = fatal.removeprefix("fatal:").strip()[:200] or "failed"
    if "could not read username" in lowered or "authentication failed" in lowered or "403" in lowered:
        return "the remote refused the credentials (wrong or missing token)"
    if "could not resolve host" in lowered or "connection refused" in lowered or "unable to access" in lowered:
        return f"cannot reach the remote: {first}"
    if "not appear to be a git repository" in lowered or "not found" in lowered or "not a git repository" in lowered:
        return f"no repository there (or no access to it): {first}"
    return first
