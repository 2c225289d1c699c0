"""One-way layers over the whole tree (docs/architecture.md), function-level imports included, and no cycles.

kernel <- connectors <- retrieval <- ingest <- orchestration <- evals <- HTTP <- CLI ("is imported by").
`python -m tests.citewise.test_layering` prints the layer-to-layer edge counts.
"""

from __future__ import annotations

import ast
import shutil
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Source folder -> import name (the package-dir mapping in setup.py).
FOLDERS = {
    "citewise": "citewise",
    "connectors": "citewise.connectors",
    "retrieval": "citewise.retrieval",
    "ingest": "citewise.ingest",
    "api": "citewise.api",
    "evals": "citewise.evals",
}
# Lowest first; a module may import its own layer and the layers below it.
LAYERS = [
    ("kernel", "citewise"),
    ("connectors", "citewise.connectors"),
    ("retrieval", "citewise.retrieval"),
    ("ingest", "citewise.ingest"),
    ("orchestration", "citewise.api.orchestration"),
    ("evals", "citewise.evals"),
    ("http", "citewise.api.http"),
    ("cli", "citewise.api.cli"),
]
OLD_TOP_LEVEL = {"api", "connectors", "ingest", "retrieval", "evals"}  # names before the one namespace


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for folder, name in FOLDERS.items():
        base = root / folder
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([name, *parts])] = path
    return found


def layer(module: str) -> str:
    best = max((prefix for _, prefix in LAYERS if module == prefix or module.startswith(prefix + ".")), key=len)
    return next(name for name, prefix in LAYERS if prefix == best)


def imports(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, wherever it stands (functions included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                out.append((child if child in known else base, node.lineno))
    return out


def graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """Internal import edges, and the imports of pre-namespace top-level names (each a problem)."""
    mods = modules(root)
    known = set(mods)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    stray = []
    for module, path in mods.items():
        for target, line in imports(module, path, known):
            top = target.split(".")[0]
            if top in OLD_TOP_LEVEL:
                stray.append(f"{path.relative_to(root)}:{line}: import {target} (use citewise.{target})")
            elif top == "citewise" and target != module:
                resolved = target
                while resolved not in known and "." in resolved:  # `import citewise.x.y` names a module
                    resolved = resolved.rpartition(".")[0]
                edges[module].add(resolved)
    return edges, stray


def upward(edges: dict[str, set[str]]) -> list[str]:
    rank = {name: i for i, (name, _) in enumerate(LAYERS)}
    return sorted(
        f"{src} ({layer(src)}) imports {dst} ({layer(dst)})"
        for src, targets in edges.items()
        for dst in targets
        if rank[layer(dst)] > rank[layer(src)]
    )


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def summary(root: Path = REPO) -> dict:
    edges, _ = graph(root)
    between = Counter((layer(s), layer(d)) for s, ts in edges.items() for d in ts if layer(s) != layer(d))
    return {
        "modules": Counter(layer(m) for m in edges),
        "edges": sorted(between.items()),
        "cycles": len(cycles(edges)),
    }


# ---- the rules on the real tree ---------------------------------------------------------------------


def test_every_import_uses_the_one_namespace():
    assert graph(REPO)[1] == []


def test_layers_are_one_way():
    assert upward(graph(REPO)[0]) == []


def test_no_import_cycles():
    assert cycles(graph(REPO)[0]) == []


def test_the_kernel_and_api_package_stay_small_seams():
    edges, _ = graph(REPO)
    assert edges["citewise.api"] == set(), "citewise.api/__init__ imports nothing: its layers are subpackages"
    assert all(layer(d) == "kernel" for d in edges["citewise.settings"] | edges["citewise.models"])


# ---- the test of the test ---------------------------------------------------------------------------


def _copy_tree(tmp_path: Path) -> Path:
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.txt"))
    return tmp_path


def test_a_deliberate_upward_import_inside_a_function_is_caught(tmp_path):
    root = _copy_tree(tmp_path)
    retriever = root / "retrieval" / "retriever.py"
    retriever.write_text(
        retriever.read_text() + "\n\ndef _sneaky():\n    from citewise.api.http.app import create_app\n\n"
        "    return create_app\n"
    )
    assert upward(graph(root)[0]) == ["citewise.retrieval.retriever (retrieval) imports citewise.api.http.app (http)"]


def test_a_cycle_and_an_old_top_level_import_are_caught(tmp_path):
    root = _copy_tree(tmp_path)
    (root / "ingest" / "loop_a.py").write_text("from citewise.ingest import loop_b\n")
    (root / "ingest" / "loop_b.py").write_text("def f():\n    from .loop_a import f  # relative, in a function\n")
    (root / "connectors" / "stray.py").write_text("import retrieval.stores\n")
    edges, stray = graph(root)
    assert ["citewise.ingest.loop_a", "citewise.ingest.loop_b"] in cycles(edges)
    assert stray == ["connectors/stray.py:1: import retrieval.stores (use citewise.retrieval.stores)"]


if __name__ == "__main__":
    import json

    json.dump(summary(), sys.stdout, indent=1, default=str)
    print()
