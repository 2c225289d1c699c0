"""Citewise: the one import namespace. This package's own modules are the kernel (settings, domain models,
errors, identity, registries, redaction, the metadata DB), shared by every layer and importing none of them.

The layers are subpackages mapped from the repository's top-level folders (setup.py): `citewise.connectors`,
`citewise.retrieval`, `citewise.ingest`, `citewise.api` (orchestration, HTTP, CLI) and `citewise.evals`.
docs/architecture.md has the layering rule, which tests/citewise/test_layering.py enforces.
"""

__version__ = "0.1.0"
