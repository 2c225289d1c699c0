"""Context budgeting: a window too small for every source drops the lowest-ranked ones and says so."""

from __future__ import annotations

from citewise.api.orchestration.budget import estimate_tokens, fit_sources
from citewise.api.orchestration.providers.base import Source
from citewise.models import SearchHit
from tests.api.fake_llm import FakeLLM

PASSAGE = "Employees get 27 days of paid holiday per year. Unused days expire at the end of March. " * 4


def _sources(n: int = 5) -> list[Source]:
    return [Source(n=i, text=f"Source {i}. " + PASSAGE, title=f"T{i}") for i in range(1, n + 1)]


def test_everything_fits_in_a_large_window():
    fitted = fit_sources(_sources(), fixed_text="system and question", context_window=8192, answer_tokens=400)
    assert [s.n for s in fitted.sources] == [1, 2, 3, 4, 5] and not fitted.dropped and not fitted.truncated


def test_a_small_window_drops_the_lowest_ranked_and_cuts_at_a_sentence():
    one = estimate_tokens(f"[1] T1\n{_sources()[0].text}\n\n")
    window = 400 + 64 + int(2.5 * one)  # room for two and a half sources beside the answer budget
    fitted = fit_sources(_sources(), fixed_text="x" * 100, context_window=window, answer_tokens=400)
    assert [s.n for s in fitted.sources] == [1, 2, 3] and fitted.truncated == [3] and fitted.dropped == [4, 5]
    cut = fitted.sources[2].text
    assert cut.endswith(".") and len(cut) < len(_sources()[2].text) and _sources()[2].text.startswith(cut)
    assert fitted.prompt_tokens <= window - 400


def test_no_window_means_no_budget():
    fitted = fit_sources(_sources(), fixed_text="", context_window=None, answer_tokens=400)
    assert len(fitted.sources) == 5


class _FiveHits:
    """A retriever stand-in: five ranked passages (the budget is the subject, not retrieval)."""

    def run(self, request):  # noqa: ANN001, ANN201
        from citewise.retrieval.retriever import RetrievalResult

        hits = [
            SearchHit(doc_id=f"d{i}", chunk_id=f"c{i}", score=1.0 - i / 10, scores={"dense": 0.9}, title=f"T{i}",
                      path=f"/p{i}", page=None, text=f"Source {i}. " + PASSAGE, char_start=0, char_end=400)
            for i in range(1, 6)
        ]  # fmt: skip
        return RetrievalResult(hits=hits, mode="hybrid", reranker="none", timings_ms={})


def test_the_pipeline_reports_what_it_left_out_and_never_cites_it():
    from citewise.api.orchestration.pipeline import ChatPipeline
    from citewise.api.orchestration.schemas import ChatRequest, Turn
    from citewise.identity import Identity
    from citewise.settings import OpenAIProfile, Settings

    with FakeLLM(answer="Employees get 27 days of paid holiday per year [1]. Unused days expire in March [5].") as llm:
        settings = Settings()
        settings.guards.injection_similarity = None
        settings.chat.profiles = [OpenAIProfile(name="small", base_url=llm.url, context_window=800, max_tokens=300)]
        settings.chat.default_profile = "small"
        pipeline = ChatPipeline(settings, _FiveHits())
        request = ChatRequest(question="How many holiday days?", route="knowledge")  # no encoder here to route with
        turn = Turn(identity=Identity(key_id="k"), request=request, trace_id="t")
        result = pipeline.answer(turn)
        sent = llm.requests[0]["messages"][1]["content"]
    assert result.checks["context"] == "trimmed"
    dropped = next(f for f in result.flags if f.startswith("context_dropped:"))
    assert "[5]" in dropped and "Source 5." not in sent and "Source 1." in sent
    assert "[5]" not in result.answer and any(f.startswith("dangling_citation_removed") for f in result.flags)
    assert [c.n for c in result.citations] == [1]
