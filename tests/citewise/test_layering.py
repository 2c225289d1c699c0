"""The kernel imports nothing from the layers above it (architecture.md: citewise <- connectors <- ...)."""

import ast
from pathlib import Path

import citewise

UPPER = {"connectors", "ingest", "retrieval", "api", "evals"}


def test_kernel_imports_no_upper_layer():
    offenders = []
    for path in Path(citewise.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in UPPER]
    assert offenders == []
