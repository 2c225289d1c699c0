"""The HTTP API: an app factory (`app.create_app`), one router module per feature in `routers/`, and the
shared pieces they use (services opened once, the caller's identity, the error mapping, streaming).

Routes only translate HTTP: the work is done by the orchestration layer and by `citewise.ingest`.
"""
