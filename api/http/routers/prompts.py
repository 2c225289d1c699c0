"""Prompt templates: GET /v1/prompts (what the tenant's answers may be built from), GET/PUT
/v1/prompts/{name} (a template's versions; saving one adds a version). Saving needs an admin key."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from citewise.api.http.deps import Caller, ServicesDep, require_admin
from citewise.api.http.errors import documented
from citewise.api.orchestration.prompts import Template

router = APIRouter(tags=["prompts"])


class TemplateOut(BaseModel):
    name: str
    version: int
    ref: str = Field(description="name@version, as results and the audit log record it")
    origin: str = Field(description="shipped (a file of the release) or tenant (saved through this API)")
    system: str
    user: str

    @classmethod
    def of(cls, t: Template) -> TemplateOut:
        return cls(name=t.name, version=t.version, ref=t.ref, origin=t.origin, system=t.system, user=t.user)


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str = Field(min_length=1, max_length=20_000)
    user: str = Field(min_length=1, max_length=20_000, description="answer templates need {sources} and {question}")


@router.get("/v1/prompts", responses=documented())
def list_prompts(caller: Caller, services: ServicesDep) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in services.prompts.catalogue(caller.tenant)]


@router.get("/v1/prompts/{name}", responses=documented(404))
def get_prompt(name: str, caller: Caller, services: ServicesDep) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in services.prompts.get(caller.tenant, name)]


@router.put("/v1/prompts/{name}", status_code=201, responses=documented(400, 403))
def put_prompt(name: str, body: TemplateBody, caller: Caller, services: ServicesDep) -> TemplateOut:
    require_admin(caller, "saving a prompt template")
    saved = services.prompts.save(caller.tenant, name, body.system, body.user, author=caller.key_id)
    return TemplateOut.of(saved)
