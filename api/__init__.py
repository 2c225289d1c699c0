"""User-facing layers: `orchestration` (question -> answer, no HTTP), `http` (the FastAPI app, one router per
feature) and `cli` (the `citewise` command, one module per command group). Imports nothing itself."""
