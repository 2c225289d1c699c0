"""User-facing interfaces: the CLI now, the FastAPI app and orchestration later."""
