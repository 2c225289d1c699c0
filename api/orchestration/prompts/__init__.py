"""Named, versioned prompt templates: `NAME@VERSION.txt` files shipped here (a `### system` part and a
`### user` part), plus per-tenant versions saved through the admin API (`GET/PUT /v1/prompts`).

A reference is `name` (the newest version the tenant sees) or `name@3`. A tenant's saved version is numbered
after every shipped and saved one, so `answer` means the tenant's latest edit once there is one. Every
answer records the `name@version` it was built from (results, cache key, audit log).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from citewise.db import Base, timestamp
from citewise.errors import ConfigError, InvalidInputError, NotFoundError

PROMPTS = Path(__file__).parent
_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)@(?P<version>\d+)\.txt$")
_REF = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)(?:@(?P<version>\d+))?$")
_LEGACY = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)_v(?P<version>\d+)$")  # answer_v1, the old setting value
# What each kind of template must and may contain; a template with a name of its own is an answer template.
PLACEHOLDERS: dict[str, tuple[set[str], set[str]]] = {
    "answer": ({"sources", "question"}, {"summary"}),
    "summarise": ({"conversation"}, set()),
    "rewrite": ({"history", "question"}, set()),
    "agent": ({"question"}, set()),
    "variants": ({"question"}, set()),
}


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    version: int
    system: str
    user: str
    origin: str = "shipped"  # shipped | tenant

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: str) -> str:
        wanted = {f for _, f, _, _ in string.Formatter().parse(self.user) if f}
        return self.user.format(**{k: v for k, v in values.items() if k in wanted})


class PromptTemplate(Base):
    __tablename__ = "prompt_templates"
    __table_args__ = (UniqueConstraint("tenant", "name", "version", name="uq_prompt_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    system: Mapped[str] = mapped_column(Text)
    user: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = timestamp()


def parse(text: str) -> tuple[str, str]:
    system, _, user = text.partition("### user\n")
    return system.removeprefix("### system\n").strip(), user.strip()


@cache
def shipped() -> dict[str, dict[int, Template]]:
    out: dict[str, dict[int, Template]] = {}
    for path in sorted(PROMPTS.glob("*.txt")):
        m = _FILE.match(path.name)
        if m:
            system, user = parse(path.read_text(encoding="utf-8"))
            out.setdefault(m["name"], {})[int(m["version"])] = Template(m["name"], int(m["version"]), system, user)
    return out


def parse_ref(ref: str) -> tuple[str, int | None]:
    m = _LEGACY.match(ref) or _REF.match(ref)
    if not m:
        raise ConfigError(f"prompt reference {ref!r} is not NAME or NAME@VERSION")
    return m["name"], int(m["version"]) if m["version"] else None


def kind_of(name: str) -> str:
    return name if name in PLACEHOLDERS else "answer"


def validate(name: str, system: str, user: str) -> None:
    """A template whose placeholders would fail or leak at run time is refused when saved."""
    required, optional = PLACEHOLDERS[kind_of(name)]
    for part, text in (("system", system), ("user", user)):
        try:
            fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise InvalidInputError(f"{part} part: {exc} (write a literal brace as {{{{ or }}}})") from exc
        if part == "system" and fields:
            raise InvalidInputError("the system part takes no placeholders (write braces as {{ and }})")
        for f, spec, conv in fields:
            if f == "" or not f.isidentifier():
                raise InvalidInputError(f"user part: placeholder {{{f}}} is not a name")
            if spec or conv:
                raise InvalidInputError(f"user part: placeholder {{{f}}} takes no format spec or conversion")
            if f not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                raise InvalidInputError(f"user part: unknown placeholder {{{f}}}; allowed: {allowed}")
    present = {f for _, f, _, _ in string.Formatter().parse(user) if f}
    if missing := required - present:
        raise InvalidInputError("user part: missing placeholder " + ", ".join(f"{{{m}}}" for m in sorted(missing)))


class PromptRegistry:
    def __init__(self, sessions: sessionmaker | None) -> None:
        self.sessions = sessions

    def _saved(self, tenant: str, name: str) -> dict[int, Template]:
        if self.sessions is None:
            return {}
        with self.sessions() as s:
            rows = s.scalars(
                select(PromptTemplate).where(PromptTemplate.tenant == tenant, PromptTemplate.name == name)
            ).all()
        return {r.version: Template(r.name, r.version, r.system, r.user, "tenant") for r in rows}

    def versions(self, tenant: str, name: str) -> dict[int, Template]:
        return {**shipped().get(name, {}), **self._saved(tenant, name)}

    def resolve(self, tenant: str, ref: str) -> Template:
        name, version = parse_ref(ref)
        versions = self.versions(tenant, name)
        if not versions:
            raise ConfigError(f"unknown prompt template {name!r}; GET /v1/prompts lists them")
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            raise ConfigError(f"prompt template {name!r} has no version {version}; it has {sorted(versions)}")
        return versions[version]

    def catalogue(self, tenant: str) -> list[Template]:
        names = set(shipped())
        if self.sessions is not None:
            with self.sessions() as s:
                names |= set(s.scalars(select(PromptTemplate.name).where(PromptTemplate.tenant == tenant)).all())
        return [t for n in sorted(names) for _, t in sorted(self.versions(tenant, n).items())]

    def save(self, tenant: str, name: str, system: str, user: str, author: str) -> Template:
        if not _REF.match(name) or "@" in name:
            raise InvalidInputError(f"template name {name!r}: lowercase letters, digits, - and _")
        validate(name, system, user)
        assert self.sessions is not None
        with self.sessions.begin() as s:
            saved = s.scalar(
                select(func.max(PromptTemplate.version)).where(
                    PromptTemplate.tenant == tenant, PromptTemplate.name == name
                )
            )
            version = max([saved or 0, *shipped().get(name, {})]) + 1
            s.add(PromptTemplate(tenant=tenant, name=name, version=version, system=system, user=user, author=author))
        return Template(name, version, system, user, "tenant")

    def get(self, tenant: str, name: str) -> list[Template]:
        versions = self.versions(tenant, name)
        if not versions:
            raise NotFoundError(f"unknown prompt template {name!r}")
        return [versions[v] for v in sorted(versions)]
