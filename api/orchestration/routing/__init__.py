"""The router: before retrieval, each question goes to the path that fits it.

- `knowledge`: a grounded answer from the documents (the default, and the fallback when unsure)
- `conversational`: greetings, thanks, questions about the assistant: answered without retrieval
- `out_of_scope`: tasks a knowledge assistant does not do (poems, jokes, the weather): a polite refusal
- `multi_step`: comparisons, aggregations, several lookups (for the agent)
- `structured`: questions over tables (for the table tool)

The classifier works offline in about a millisecond: the question's vector (the dense encoder's, cached and
reused by retrieval) against prototype utterances per route (`examples.json`, plus per-tenant ones from
settings); a route's score is the mean of its two nearest examples, plus a bonus when one of its rules
matches. A route other than `knowledge` wins only by `router.margin` over the runner-up; otherwise the
question is answered from the documents, where the answerability check still guards the result. A question
in a language the prototypes are not written in (`router.languages`) goes to `knowledge` unrouted.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from citewise.settings import RouterSettings


def _language(question: str) -> str:
    from citewise.api.orchestration.text import query_language

    return query_language(question)


ROUTES = ("knowledge", "conversational", "out_of_scope", "multi_step", "structured")
EXAMPLES = Path(__file__).parent / "examples.json"

# Rules add `router.rule_bonus` to their route's score; they never decide alone.
RULES: dict[str, re.Pattern[str]] = {
    "conversational": re.compile(
        r"^\W*(hi|hello|hey|hallo|good (morning|afternoon|evening|night)|thanks?|thank you|cheers|bye|goodbye"
        r"|ok(ay)?|great|cool|nice)\b[\w\s,!.']{0,25}$"
        r"|\b(who|what) are you\b|\byour name\b|\bwhat can you do\b|\bare you (a |an )?(bot|human|ai)\b",
        re.IGNORECASE,
    ),
    "out_of_scope": re.compile(
        r"^\W*(please\s+)?(write|compose|draw|sing|play|translate|generate|book|order|set an? |tell me a joke)\b",
        re.IGNORECASE,
    ),
    "multi_step": re.compile(
        r"\b(compare|comparison|difference between|differ|versus|vs\.?|side by side|both|each say"
        r"|which is (longer|shorter|larger|smaller|more|less|higher|lower)|how many more|first .* then)\b",
        re.IGNORECASE,
    ),
    "structured": re.compile(  # an aggregation over a table, or a table named
        r"\b(table|spreadsheet|csv|xlsx|rows?|columns?)\b"
        r"|\b(average|mean|median|sum|add up|total|count|sort(ed)?|group(ed)?|order(ed)?)\b.*"
        r"\b(per|across|all|by|each|offices|teams|employees|headcount|cups)\b",
        re.IGNORECASE,
    ),
}


class Route(BaseModel):
    name: str
    confidence: float = Field(description="the winning route's score (cosine-like, rules included)")
    reason: str = Field(description="prototype | rule | forced | unsure (fell back to knowledge) | off")


@cache
def default_examples() -> dict[str, list[str]]:
    return json.loads(EXAMPLES.read_text(encoding="utf-8"))


class Router:
    def __init__(
        self,
        settings: RouterSettings,
        embed_many: Callable[[list[str]], np.ndarray],
    ) -> None:
        self.settings = settings
        self.embed_many = embed_many
        self._banks: dict[str, dict[str, np.ndarray]] = {}  # tenant -> route -> unit example vectors
        self._vectors: dict[str, np.ndarray] = {}  # example text -> unit vector, shared by every tenant's bank
        self._lock = threading.Lock()

    def _unit_vectors(self, texts: list[str]) -> np.ndarray:
        """Vectors of example utterances; each text is embedded once, whatever tenants share it."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            vectors = np.asarray(self.embed_many(missing), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
            self._vectors.update(zip(missing, vectors, strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def _bank(self, tenant: str) -> dict[str, np.ndarray]:
        with self._lock:
            if tenant not in self._banks:
                examples = {r: list(v) for r, v in default_examples().items()}
                for extra in (self.settings.examples, self.settings.tenants.get(tenant, {})):
                    for route, texts in extra.items():
                        examples.setdefault(route, []).extend(texts)
                self._banks[tenant] = {
                    route: self._unit_vectors(texts)
                    for route, texts in examples.items()
                    if route in ROUTES and route not in self.settings.disabled_routes and texts
                }
            return self._banks[tenant]

    def scores(self, question: str, vector: np.ndarray, tenant: str) -> dict[str, float]:
        unit = vector / max(float(np.linalg.norm(vector)), 1e-9)
        out = {}
        for route, bank in self._bank(tenant).items():
            sims = np.sort(bank @ unit)[::-1][:2]
            out[route] = float(sims.mean())
            rule = RULES.get(route)
            if rule is not None and rule.search(question):
                out[route] += self.settings.rule_bonus
        return out

    def route(self, question: str, vector: np.ndarray, tenant: str) -> Route:
        language = _language(question)
        if language not in self.settings.languages:  # English prototypes say nothing about a Korean question
            return Route(name="knowledge", confidence=0.0, reason=f"language:{language}")
        scores = self.scores(question, vector, tenant)
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        best, score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if best != "knowledge" and score - runner_up < self.settings.margin:
            return Route(name="knowledge", confidence=round(scores.get("knowledge", 0.0), 4), reason="unsure")
        rule = RULES.get(best)
        reason = "rule" if rule is not None and rule.search(question) else "prototype"
        return Route(name=best, confidence=round(score, 4), reason=reason)
