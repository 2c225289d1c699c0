"""No leaks through the agent: whatever the documents, ACLs and tool calls the model makes (any tool, any
arguments, doc ids it should not know), a run as one principal never sees another principal's passage.

Property-based like tests/retrieval/test_permissions.py, over the real agent loop, tools, retriever and store;
the model is a scripted in-process provider (the HTTP path is covered in test_agent.py)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citewise.api.orchestration.agent import AgentRun, run_agent
from citewise.api.orchestration.tools import TOOLS
from citewise.db import init_db
from citewise.identity import Identity
from citewise.ingest.tables import TableStore
from citewise.models import TableData
from citewise.retrieval.retriever import Retriever
from citewise.retrieval.stores.edge import EdgeStore
from citewise.settings import AgentSettings, Settings
from tests.retrieval.test_permissions import (
    GROUPS,
    TENANTS,
    USERS,
    WORDS,
    HashEncoder,
    _points,
    _visible,
    doc_strategy,
)

TOOL_NAMES = ["search", "read_document", "list_documents", "calculator", "table_query"]


class ScriptedModel:
    """Asks for the given tool calls one per step, then answers; records every message it was shown."""

    def __init__(self, calls: list[tuple[str, dict]]) -> None:
        self.calls, self.seen = list(calls), []

    def complete(self, messages, tools, call):  # noqa: ANN001, ANN201
        self.seen = list(messages)
        if not self.calls:
            return {"content": "done [1]"}
        name, args = self.calls.pop(0)
        function = {"name": name, "arguments": json.dumps(args)}
        return {"tool_calls": [{"id": "x", "type": "function", "function": function}]}


def _arguments(draw, name: str, n_docs: int) -> dict:
    """Arguments for a tool call, including doc ids of documents the caller may not read."""
    doc_id = st.integers(0, max(n_docs - 1, 0)).map(lambda d: f"doc{d}")
    query = st.lists(st.sampled_from(WORDS + ["part0", "doc0", "doc1"]), min_size=1, max_size=4).map(" ".join)
    strategies = {
        "search": st.fixed_dictionaries({"query": query, "k": st.integers(1, 10)}),
        "read_document": st.fixed_dictionaries({"doc_id": doc_id}),
        "list_documents": st.fixed_dictionaries({"title_contains": st.one_of(st.none(), st.just("doc"))}),
        "calculator": st.just({"expression": "1+1"}),
        "table_query": st.one_of(st.just({}), doc_id.map(lambda d: {"sql": f"SELECT * FROM {d}"})),
    }
    return draw(strategies[name])


@st.composite
def scenario(draw):
    docs = draw(st.lists(doc_strategy, min_size=1, max_size=8))
    identity = Identity(
        tenant=draw(st.sampled_from(TENANTS)),
        user_id=draw(st.one_of(st.none(), st.sampled_from(USERS))),
        groups=draw(st.lists(st.sampled_from(GROUPS), max_size=2, unique=True)),
    )
    names = draw(st.lists(st.sampled_from(TOOL_NAMES), min_size=1, max_size=6))
    return docs, identity, [(n, _arguments(draw, n, len(docs))) for n in names]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_an_agent_run_never_sees_another_principals_passage(case):
    docs, identity, calls = case
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(Path(tmp) / "edge", HashEncoder.dim)
        try:
            points = _points(docs)
            store.upsert(points)
            cfg = Settings(data_dir=Path(tmp))
            tables = TableStore(init_db(cfg.db_url))
            for d, doc in enumerate(docs):  # each document also holds a table named after it
                rows = [["secret", f"part0 of doc{d}"]]
                tables.replace(f"doc{d}", doc["tenant"], [TableData(name=f"doc{d}", columns=["k", "v"], rows=rows)])
            retriever = Retriever(cfg, store=store, encoder=HashEncoder())
            tools = {name: TOOLS.get(name)(retriever) for name in TOOL_NAMES}
            model, run = ScriptedModel(calls), AgentRun()
            limits = AgentSettings(max_steps=len(calls) + 1, max_tool_calls=len(calls))
            list(run_agent(model, tools, identity, "system", "question", limits, run))
            hidden = {p.payload.doc_id for p in points} - {p.payload.doc_id for p in points if _visible(p, identity)}
            assert not {h.doc_id for h in run.passages} & hidden  # passages and table results alike
            shown = " ".join(m["content"] for m in model.seen if m["role"] == "tool")
            for doc_id in hidden:  # no hidden document's id or text reached the model through any tool
                assert f'"doc_id": "{doc_id}"' not in shown and f"of {doc_id}" not in shown
        finally:
            store.close()
