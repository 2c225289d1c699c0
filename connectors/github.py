"""GitHub issues and pull requests of the configured repositories, with their comments, through the REST
API (`/repos/{owner}/{repo}/issues`, which lists both; `Link` header pagination).

- An issue (or PR) is a document: title, body and comments. Its version is `updated_at` (which comments
  bump) plus its ACL: unchanged issues are listed, their comments not fetched. Issues no longer listed
  (deleted, transferred) leave the index. Files of a repository: use the `git` connector with a token.
- Permissions: a public repository's issues are readable by the whole tenant; a private or internal
  one's by its collaborators (`user:github:<login>`, linked to
  an e-mail with `citewise identities link`) and teams
  (`group:github:<org>/<team>`).
- Auth: a fine-grained or classic token (`Authorization: Bearer`), API version 2022-11-28. Rate limits:
  403/429 with `x-ratelimit-remaining: 0` wait for `x-ratelimit-reset`; secondary limits honour Retry-After.
  Scopes: Issues and Pull requests (read), Metadata (read), and for private repositories' ACLs,
  Administration (read) to list collaborators and teams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, SecretStr, field_validator

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    MembershipConnector,
    TextList,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.connectors.http import VendorHTTP
from citewise.errors import CitewiseError, ConfigError, NotFoundError
from citewise.models import PUBLIC, RawDocument


class GithubConfig(ConnectorConfig):
    repositories: TextList = Field(min_length=1, description="owner/name, e.g. acme/handbook")
    token: SecretStr = Field(description="a token that can read the repositories' issues")
    base_url: str = Field("https://api.github.com", description="the API (GitHub Enterprise: https://HOST/api/v3)")
    include_pull_requests: bool = True
    timeout_s: float = Field(30.0, gt=0)

    @field_validator("repositories")
    @classmethod
    def _owner_name(cls, value: list[str]) -> list[str]:
        for repo in value:
            if repo.count("/") != 1 or not all(repo.split("/")):
                raise ValueError(f"{repo!r} is not owner/name")
        return value


class GithubConnector(LoadConnector, ListIdsConnector, VersionedConnector, MembershipConnector):
    kind = "github"
    Config = GithubConfig

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: GithubConfig = parse_config(GithubConfig, config, self.kind)
        self._http: VendorHTTP | None = None
        self._teams: set[str] = set()  # org/slug of the teams the ACLs name: their members are synced

    @property
    def source_id(self) -> str:
        return f"github:{self.cfg.base_url}:{','.join(sorted(self.cfg.repositories))}"

    @property
    def http(self) -> VendorHTTP:
        if self._http is None:
            headers = {"Authorization": f"Bearer {self.cfg.token.get_secret_value()}",
                       "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}  # fmt: skip
            self._http = VendorHTTP(self.cfg.base_url, name="github", headers=headers, timeout_s=self.cfg.timeout_s)
        return self._http

    def validate(self) -> None:
        for repo in self.cfg.repositories:
            try:
                self.http.get(f"/repos/{repo}")
            except NotFoundError:
                raise ConfigError(f"github: no repository {repo} (or the token cannot see it)") from None

    def _user(self, login: str) -> str:
        return f"user:github:{login}"  # the API gives no e-mail for a login: identity links map it

    def _acl(self, repo: str) -> list[str]:
        if self.acl:
            return list(self.acl)
        info = self.http.get(f"/repos/{repo}")
        if not info.get("private") and info.get("visibility", "public") == "public":
            return [PUBLIC]
        collaborators = self.http.pages(f"/repos/{repo}/collaborators", affiliation="all", per_page=100)
        people = {self._user(c["login"]) for c in collaborators if (c.get("permissions") or {}).get("pull")}
        org = repo.split("/")[0]
        teams = {f"group:github:{org}/{t['slug']}" for t in self.http.pages(f"/repos/{repo}/teams", per_page=100)}
        self._teams |= {t.removeprefix("group:github:") for t in teams}
        return sorted(people | teams) or ["user:nobody"]

    def memberships(self) -> Iterator[tuple[str, str]]:
        """Members of every team the synced repositories grant (`/orgs/{org}/teams/{slug}/members`)."""
        try:
            for team in sorted(self._teams):
                org, slug = team.split("/", 1)
                try:
                    for member in self.http.pages(f"/orgs/{org}/teams/{slug}/members", per_page=100):
                        yield self._user(member["login"]), f"group:github:{team}"
                except NotFoundError:
                    continue  # the team is gone
        finally:
            self.close()

    def _issues(self, repo: str) -> Iterator[dict]:
        for issue in self.http.pages(
            f"/repos/{repo}/issues", state="all", per_page=100, sort="updated", direction="asc"
        ):
            if "pull_request" in issue and not self.cfg.include_pull_requests:
                continue
            yield issue

    def list_ids(self) -> Iterator[str]:
        for repo in self.cfg.repositories:
            for issue in self._issues(repo):
                yield issue["html_url"]

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        try:
            for repo in self.cfg.repositories:
                acl = self._acl(repo)
                tag = acl_tag(acl)
                for issue in self._issues(repo):
                    uri = issue["html_url"]
                    version = f"{issue['updated_at']}|{tag}"
                    if self.unchanged(uri, version):
                        yield UnchangedItem(key=uri, uri=uri)
                        continue
                    try:
                        comments = list(self.http.pages(issue["comments_url"])) if issue.get("comments") else []
                    except NotFoundError:
                        continue  # deleted or transferred between the listing and the read
                    except CitewiseError as exc:
                        yield FailedItem(key=uri, uri=uri, error=str(exc))
                        continue
                    kind = "Pull request" if "pull_request" in issue else "Issue"
                    parts = [f"# {issue['title']}", f"{kind} #{issue['number']} in {repo}, {issue['state']}, "
                             f"opened by {issue['user']['login']}.", issue.get("body") or ""]  # fmt: skip
                    parts += [f"**{c['user']['login']}** commented:\n\n{c.get('body') or ''}" for c in comments]
                    yield RawDocument(
                        source_id=self.source_id, key=uri, uri=uri, title=f"{repo}#{issue['number']}: {issue['title']}",
                        content="\n\n".join(p for p in parts if p).encode(), version=version, acl=acl,
                        modified_at=issue["updated_at"],
                        metadata={"filename": "issue.md", "repository": repo, "number": issue["number"],
                                  "state": issue["state"], "kind": kind.lower(), "author": issue["user"]["login"],
                                  "link": uri},
                    )  # fmt: skip
        finally:
            self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
