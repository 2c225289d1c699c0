"""The distribution adds exactly one top-level import name, `citewise`, with its data files and entry points."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "setup.py", "README.md", "citewise", "connectors", "retrieval", "ingest", "api", "evals"]


@pytest.mark.slow
def test_a_fresh_site_packages_holds_only_citewise(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src], check=True)
    wheel = next((tmp_path / "dist").glob("citewise-*.whl"))
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", site, wheel], check=True)

    top_level = {p.name for p in site.iterdir()} - {"bin"}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"citewise"}
    record = next(site.glob("citewise-*.dist-info")) / "RECORD"
    roots = {line.split("/", 1)[0] for line in record.read_text().splitlines() if line and not line.startswith("..")}
    assert {r for r in roots if not r.endswith(".dist-info")} == {"citewise"}
    shipped = ["api/orchestration/prompts/answer@1.txt", "api/orchestration/routing/examples.json"]
    for data in [*shipped, "migrations/script.py.mako", "migrations/env.py"]:
        assert (site / "citewise" / data).is_file(), data
    for layer in ["connectors", "retrieval", "ingest", "api", "evals"]:  # every module of every layer
        for module in (REPO / layer).rglob("*.py"):
            assert (site / "citewise" / layer / module.relative_to(REPO / layer)).is_file(), module


def test_entry_points_name_modules_inside_the_namespace():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts") if ep.name == "citewise"}
    assert scripts == {"citewise": "citewise.api.cli.main:main"}
    connectors = [ep.value for ep in entry_points(group="citewise.connectors")]
    assert connectors and all(v.startswith("citewise.connectors.") for v in connectors)
