"""deploy/ refers only to settings that exist and to real `citewise` commands and options."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from citewise.api.cli.main import app
from citewise.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"


def setting_exists(env_name: str) -> bool:
    """CITEWISE_INDEX__URL -> Settings.index.url."""
    parts = env_name.removeprefix("CITEWISE_").lower().split("__")
    model: type[BaseModel] = Settings
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if i < len(parts) - 1:
            model = field.annotation  # type: ignore[assignment]
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                return False
    return True


def all_env_names() -> set[str]:
    names = set()
    for path in [DEPLOY / "compose.yaml", DEPLOY / "Dockerfile", *DEPLOY.glob("helm/citewise/templates/*")]:
        names |= set(re.findall(r"CITEWISE_[A-Z0-9_]+", path.read_text()))
    values = yaml.safe_load((DEPLOY / "helm/citewise/values.yaml").read_text())
    names |= {f"CITEWISE_{key}" for key in values["settings"]}
    return {n for n in names if not n.endswith("_")}  # the "CITEWISE_{{ $key }}" template prefix


def test_every_setting_named_in_deploy_exists():
    names = all_env_names()
    assert len(names) > 10
    missing = sorted(n for n in names if not setting_exists(n))
    assert missing == []
    assert not setting_exists("CITEWISE_INDEX__NOPE") and not setting_exists("CITEWISE_NOPE")


def commands() -> list[list[str]]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    out = [svc["command"] for svc in compose["services"].values() if svc.get("image", "").startswith("citewise")]
    values = yaml.safe_load((DEPLOY / "helm/citewise/values.yaml").read_text())
    out += [values[part]["command"] for part in ("api", "worker", "beat")]
    cmd = re.search(r"^CMD (\[.*\])", (DEPLOY / "Dockerfile").read_text(), re.M)
    out.append(yaml.safe_load(cmd.group(1)))
    return out


@pytest.mark.parametrize("argv", commands(), ids=lambda a: " ".join(a))
def test_entry_points_are_real_commands_with_real_options(argv):
    assert re.search(r'^ENTRYPOINT \["citewise"\]', (DEPLOY / "Dockerfile").read_text(), re.M)
    help_text = CliRunner().invoke(app, [argv[0], "--help"], terminal_width=200)
    assert help_text.exit_code == 0, help_text.output
    for option in [a for a in argv[1:] if a.startswith("--")]:
        assert option in help_text.output, f"{argv[0]} has no {option}"


def test_compose_has_health_checks_and_volumes():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"api", "worker", "beat", "qdrant", "redis", "postgres"} <= set(services)
    for name in ("api", "redis", "postgres"):
        assert "healthcheck" in services[name], name
    assert set(compose["volumes"]) >= {"qdrant-data", "postgres-data", "redis-data"}
    assert "USER citewise" in (DEPLOY / "Dockerfile").read_text()
