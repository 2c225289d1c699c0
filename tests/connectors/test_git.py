"""The Git connector on repositories the tests create (and clone over file://): the conformance suite,
renames, commit metadata and links, `paths`, and validation."""

from __future__ import annotations

import subprocess

import pytest

from citewise.connectors.git import GitConnector
from citewise.errors import ConfigError
from tests.connectors.conformance import START, ConnectorConformance


def git(repo, *args: str) -> str:  # noqa: ANN001
    env = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
           "GIT_COMMITTER_EMAIL": "ada@example.com", "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env).stdout.decode()


class Repo:
    supports_acl = False

    def __init__(self, root, *, clone: bool = False, cache=None) -> None:  # noqa: ANN001
        self.root, self.clone, self.cache = root, clone, cache
        root.mkdir()
        git(root, "init", "--quiet", "--initial-branch=main")
        for key, text in START.items():
            (root / key).write_text(text)
        git(root, "add", ".")
        git(root, "commit", "--quiet", "-m", "start")

    def connector(self, **extra) -> GitConnector:
        if self.clone:
            return GitConnector(url=f"file://{self.root}", branch="main", cache_dir=str(self.cache), **extra)
        return GitConnector(url=str(self.root), branch="main", **extra)

    def put(self, key: str, text: str) -> None:
        (self.root / key).write_text(text)
        git(self.root, "add", key)
        git(self.root, "commit", "--quiet", "-m", f"change {key}")

    def remove(self, key: str) -> None:
        git(self.root, "rm", "--quiet", key)
        git(self.root, "commit", "--quiet", "-m", f"remove {key}")


class TestLocalRepoConformance(ConnectorConformance):
    @pytest.fixture
    def source(self, tmp_path):
        return Repo(tmp_path / "repo")


class TestCloneConformance(ConnectorConformance):
    @pytest.fixture
    def source(self, tmp_path):
        return Repo(tmp_path / "repo", clone=True, cache=tmp_path / "cache")


def test_metadata_links_renames_and_paths(tmp_path):
    repo = Repo(tmp_path / "repo", clone=True, cache=tmp_path / "cache")
    (repo.root / "docs").mkdir()
    repo.put("docs/guide.md", "# Guide\n\nHow to deploy.")
    head = git(repo.root, "rev-parse", "HEAD").strip()
    docs = {d.key: d for d in repo.connector().load()}
    guide = docs["docs/guide.md"]
    assert guide.metadata["commit"] == head and guide.metadata["author"] == "Ada <ada@example.com>"
    assert docs["alpha.txt"].metadata["commit"] != head  # the commit that last changed alpha.txt
    assert guide.metadata["link"].endswith(f"@{head}:docs/guide.md")
    git(repo.root, "mv", "docs/guide.md", "docs/deploy.md")
    git(repo.root, "commit", "--quiet", "-m", "rename")
    assert sorted(repo.connector().list_ids()) == ["alpha.txt", "beta.md", "docs/deploy.md", "gamma.txt"]
    assert [d.key for d in repo.connector(paths="docs").load()] == ["docs/deploy.md"]
    assert GitConnector(url="https://github.com/acme/handbook.git").link("abc", "a/b.md") == (
        "https://github.com/acme/handbook/blob/abc/a/b.md"
    )


def test_validate_names_what_is_wrong(tmp_path):
    repo = Repo(tmp_path / "repo")
    with pytest.raises(ConfigError, match="no branch 'release'"):
        GitConnector(url=str(repo.root), branch="release").validate()
    with pytest.raises(ConfigError, match="not a git repository"):
        GitConnector(url=str(tmp_path)).validate()
    with pytest.raises(ConfigError, match="no repository there|cannot reach"):
        GitConnector(url=f"file://{tmp_path}/missing.git", cache_dir=str(tmp_path / "c")).validate()
    with pytest.raises(ConfigError, match="not in the URL"):
        GitConnector(url="https://ada:hunter2@example.com/repo.git")
