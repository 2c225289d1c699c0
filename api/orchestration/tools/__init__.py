"""Tools the agent may call, found by name in `TOOLS` (third-party: entry point group `citewise.tools`, a
factory taking the retriever and returning a `Tool`).

A tool takes the caller's `Identity` and arguments validated by its pydantic model (the model's JSON schema
is what the LLM is offered), and returns a `ToolResult`: data for the model, a short summary for the steps
list, and the passages it read (the final answer may cite only those). Every read goes through the
retriever's permission filter as the caller; text from documents is neutralised like any source.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Protocol

from pydantic import BaseModel, Field

from citewise.api.orchestration import guardrails as guards
from citewise.errors import InvalidInputError
from citewise.identity import Identity
from citewise.models import SearchHit
from citewise.registry import Registry
from citewise.retrieval.retriever import RetrievalRequest, Retriever, permission_filter, to_hit


class ToolResult(BaseModel):
    data: Any
    summary: str
    passages: list[SearchHit] = Field(default_factory=list)


class Tool(Protocol):
    name: str
    description: str
    arguments: type[BaseModel]

    def run(self, identity: Identity, args: BaseModel) -> ToolResult: ...


def _passage(hit: SearchHit) -> dict[str, Any]:
    return {"doc_id": hit.doc_id, "title": hit.title, "text": guards.neutralise_source(hit.text)[0]}


class _ReadsTheIndex:
    """A tool built from the retriever (the registry's factories all take it)."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="what to look for")
    k: int = Field(5, ge=1, le=10, description="how many passages")


class SearchTool(_ReadsTheIndex):
    name = "search"
    description = "Search the documents the user may read; returns passages with their document ids."
    arguments = SearchArgs

    def run(self, identity: Identity, args: SearchArgs) -> ToolResult:
        hits = self.retriever.run(RetrievalRequest(query=args.query, principal=identity, k=args.k)).hits
        return ToolResult(
            data=[_passage(h) for h in hits], summary=f"{len(hits)} passages for {args.query!r}", passages=hits
        )


class ReadArgs(BaseModel):
    doc_id: str = Field(min_length=1, max_length=64, description="a doc_id from search or list_documents")


class ReadDocumentTool(_ReadsTheIndex):
    name = "read_document"
    description = "Read a whole document's passages, in order, by its doc_id."
    arguments = ReadArgs

    def run(self, identity: Identity, args: ReadArgs) -> ToolResult:
        flt = permission_filter(identity)
        flt.match = {"doc_id": args.doc_id}
        hits = sorted(
            (to_hit(p) for p in self.retriever.store.scroll(flt, limit=200)), key=lambda h: h.chunk_index or 0
        )
        if not hits:
            raise InvalidInputError(f"no document {args.doc_id!r} visible to this user")
        return ToolResult(
            data=[_passage(h) for h in hits], summary=f"{len(hits)} passages of {hits[0].title}", passages=hits
        )


class ListArgs(BaseModel):
    title_contains: str | None = Field(None, max_length=200, description="only titles containing this")
    limit: int = Field(20, ge=1, le=100)


class ListDocumentsTool(_ReadsTheIndex):
    name = "list_documents"
    description = "List the documents the user may read (doc_id, title), optionally by title."
    arguments = ListArgs

    def run(self, identity: Identity, args: ListArgs) -> ToolResult:
        flt = permission_filter(identity)
        flt.match = {"chunk_index": 0}
        docs = [{"doc_id": p.payload.doc_id, "title": p.payload.title} for p in self.retriever.store.scroll(flt, 1000)]
        if args.title_contains:
            docs = [d for d in docs if args.title_contains.casefold() in d["title"].casefold()]
        return ToolResult(data=docs[: args.limit], summary=f"{min(len(docs), args.limit)} documents")


_OPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Mod: operator.mod, ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv,
}  # fmt: skip


def evaluate(expression: str) -> float:
    """Arithmetic on numbers with + - * / % ** // and parentheses; nothing else is evaluated."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 100:
                raise InvalidInputError("exponent too large")
            return _OPS[type(node.op)](left, right)
        raise InvalidInputError(f"not arithmetic: {ast.dump(node)[:80]}")

    try:
        return walk(ast.parse(expression, mode="eval"))
    except (SyntaxError, ZeroDivisionError, OverflowError) as exc:
        raise InvalidInputError(f"cannot compute {expression!r}: {exc}") from exc


class CalcArgs(BaseModel):
    expression: str = Field(min_length=1, max_length=200, description="arithmetic, e.g. (160 - 120) * 3")


class CalculatorTool:
    name = "calculator"
    description = "Compute an arithmetic expression exactly."
    arguments = CalcArgs

    def __init__(self, retriever: Retriever | None = None) -> None:  # the registry's factory signature
        pass

    def run(self, identity: Identity, args: CalcArgs) -> ToolResult:
        value = evaluate(args.expression)
        return ToolResult(data={"result": value}, summary=f"{args.expression} = {value}")


TOOLS: Registry = Registry(
    "tool",
    "citewise.tools",
    {
        "search": "citewise.api.orchestration.tools:SearchTool",
        "read_document": "citewise.api.orchestration.tools:ReadDocumentTool",
        "list_documents": "citewise.api.orchestration.tools:ListDocumentsTool",
        "calculator": "citewise.api.orchestration.tools:CalculatorTool",
        "table_query": "citewise.api.orchestration.tools.table_query:TableQueryTool",
    },
)


OFFERED_MAX_LENGTH = 300


def _short_strings(node: Any) -> Any:
    """The schema with string bounds of at most OFFERED_MAX_LENGTH: servers that compile it to a grammar
    (llama.cpp) refuse long repetitions, and without a bound a small model can write one argument forever.
    The arguments are validated against the full model anyway."""
    if isinstance(node, dict):
        out = {k: _short_strings(v) for k, v in node.items()}
        if out.get("type") == "string":
            out["maxLength"] = min(int(out.get("maxLength", OFFERED_MAX_LENGTH)), OFFERED_MAX_LENGTH)
        return out
    if isinstance(node, list):
        return [_short_strings(v) for v in node]
    return node


def schema(tool: Tool) -> dict[str, Any]:
    """The tool in the OpenAI function-calling format."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": _short_strings(tool.arguments.model_json_schema()),
        },
    }
