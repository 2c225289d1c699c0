"""One router module per feature; `ROUTERS` is the order the app includes them in."""

from __future__ import annotations

from citewise.api.http.routers import (
    admin,
    audit,
    chat,
    connectors,
    dashboard,
    documents,
    evals,
    health,
    identities,
    keys,
    openai,
    prompts,
    review,
    search,
    ui,
)

ROUTERS = [
    health.router,
    chat.router,
    openai.router,
    search.router,
    documents.router,
    connectors.router,
    identities.router,
    keys.router,
    admin.router,
    prompts.router,
    audit.router,
    review.router,
    dashboard.router,
    evals.router,
    ui.router,  # last: `/` and the UI's files
]
