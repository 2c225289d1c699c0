"""Token-aware chunking that respects element boundaries.

Consecutive elements of one section and page are packed into a chunk up to the token budget; an element
longer than the budget is split with langchain's RecursiveCharacterTextSplitter measured in the embedder's
own tokens. The embedded text is `title / section path` + the chunk text, and never exceeds the model's
max sequence length (a final token-level cut guarantees it).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from citewise.models import Chunk, Element, ParsedDocument
from citewise.settings import ChunkingSettings

SPECIAL_TOKENS = 2  # [CLS] ... [SEP]
_WHITESPACE = re.compile(r"\s*")
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


class Chunker:
    def __init__(self, tokenizer: Any, settings: ChunkingSettings | None = None) -> None:
        self.tokenizer = tokenizer
        self.settings = settings or ChunkingSettings()

    def _count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    @lru_cache(maxsize=8192)  # noqa: B019 - langchain measures each split two or three times while merging
    def _length(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def _offsets(self, text: str) -> list[tuple[int, int]]:
        """Each token's (start, end) in the text, to cut at a token edge."""
        return self.tokenizer.encode(text, add_special_tokens=False).offsets

    @lru_cache(maxsize=64)  # noqa: B019 - one splitter per budget; the chunker lives as long as the pipeline
    def _splitter(self, budget: int) -> Any:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        return RecursiveCharacterTextSplitter(
            length_function=self._length,  # measured in the embedder's own tokens
            chunk_size=budget,
            chunk_overlap=min(self.settings.overlap_tokens, budget // 4),
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def _prefix(self, title: str, section_path: list[str]) -> str:
        parts = [title.strip()] if title.strip() else []
        path = " > ".join(s for s in section_path if s and s != title)
        if path:
            parts.append(path)
        prefix = "\n".join(parts)
        if not prefix:
            return ""
        limit = self.settings.max_prefix_tokens
        offsets = self._offsets(prefix)
        if len(offsets) > limit:
            prefix = prefix[: offsets[limit - 1][1]] if limit else ""
        return prefix + "\n\n" if prefix else ""

    def run(self, parsed: ParsedDocument, *, doc_id: str, title: str | None = None) -> list[Chunk]:
        title = parsed.title if title is None else title
        max_total = self.settings.max_tokens - SPECIAL_TOKENS
        counts = self._count([e.text for e in parsed.elements])
        spans: list[tuple] = []  # (start, end, first element[, lead]) in parsed.text; lead: a table's header
        current: list[tuple[Element, int]] = []

        def flush() -> None:
            if current:
                # a chunk's page and section are those of its first body element (headings lead into it)
                anchor = next((e for e, _ in current if e.type != "title"), current[0][0])
                spans.append((current[0][0].char_start, current[-1][0].char_end, anchor))
                current.clear()

        for element, n_tokens in zip(parsed.elements, counts, strict=True):
            budget = self._budget(title, element, max_total)
            if n_tokens > budget:
                flush()
                pieces = self._table_rows(element.text, budget) if element.type == "table" else None
                if pieces is not None:
                    for start, end, lead in pieces:
                        spans.append((element.char_start + start, element.char_start + end, element, lead))
                    continue
                for start, end in self._split(element.text, budget):
                    spans.append((element.char_start + start, element.char_start + end, element))
                continue
            if current:
                head = current[-1][0]
                used = sum(n for _, n in current) + len(current)  # ~1 token per joining blank line
                only_headings = all(e.type == "title" for e, _ in current)
                same_place = head.section_path == element.section_path and head.page == element.page
                new_section = element.type == "title" or not same_place
                if used + n_tokens > budget or (new_section and not only_headings):
                    flush()
            current.append((element, n_tokens))
        flush()
        return self._to_chunks(parsed, spans, doc_id=doc_id, title=title, max_total=max_total)

    def _split(self, text: str, budget: int) -> list[tuple[int, int]]:
        """Pieces of an over-long element as (start, end) offsets in `text`.

        Offsets are found here, not with the splitter's `add_start_index`: langchain subtracts the overlap
        (in tokens) from a character offset, searches past the real start and returns -1, which put a third
        of SciFact's text outside every chunk.
        """
        spans: list[tuple[int, int]] = []
        prev_start, prev_end = -1, 0
        for piece in self._splitter(budget).split_text(text):
            # The piece starts after the previous one and no later than the previous end (plus the whitespace
            # the splitter stripped); the latest such match keeps repeated text contiguous too.
            limit = _WHITESPACE.match(text, prev_end).end()
            start = text.rfind(piece, prev_start + 1, limit + len(piece))
            if start < 0:
                start = text.find(piece, prev_start + 1)
            if start < 0:
                raise ValueError(f"chunking lost its place in the text near offset {prev_end}")
            spans.append((start, start + len(piece)))
            prev_start, prev_end = start, start + len(piece)
        return spans

    def _table_rows(self, text: str, budget: int) -> list[tuple[int, int, str]] | None:
        """A Markdown table over the budget in pieces of whole rows, as (start, end, lead): every piece after
        the first leads with the header lines (not part of its span), so each chunk says what its columns are.
        None when the text is not a Markdown table or one row alone is over the budget (split as text then)."""
        lines = text.split("\n")
        if len(lines) < 3 or not lines[0].startswith("|") or not lines[1].startswith("| ---"):
            return None
        header = lines[0] + "\n" + lines[1] + "\n"
        header_n, *row_ns = self._count([header, *lines[2:]])
        room = budget - header_n
        if room <= 0 or max(row_ns) + 1 > room:
            return None
        pieces: list[tuple[int, int, str]] = []
        start, used, at = 0, header_n, len(header)  # the first piece starts at the header itself
        for line, n in zip(lines[2:], row_ns, strict=True):
            if used + n + 1 > budget and at > start:
                pieces.append((start, at - 1, header if pieces else ""))
                start, used = at, header_n
            used += n + 1
            at += len(line) + 1
        pieces.append((start, len(text), header if pieces else ""))
        return pieces

    def _budget(self, title: str, element: Element, max_total: int) -> int:
        _, prefix_tokens = self._prefix_cached(title, tuple(element.section_path))
        return max(16, max_total - prefix_tokens)

    def embed_text(self, title: str, section_path: list[str], text: str) -> str:
        """A chunk's embedded text from what its point stores (title, section path, text): how a reindex
        re-embeds without parsing again. The same as `Chunk.embed_text` under the same chunking settings."""
        return self._prefix_cached(title, tuple(section_path))[0] + text

    @lru_cache(maxsize=1024)  # noqa: B019
    def _prefix_cached(self, title: str, section_path: tuple[str, ...]) -> tuple[str, int]:
        """The prefix and its token count, computed once per (title, section)."""
        prefix = self._prefix(title, list(section_path))
        return prefix, (self._count([prefix])[0] if prefix else 0)

    def _to_chunks(
        self, parsed: ParsedDocument, spans: list[tuple], *, doc_id: str, title: str, max_total: int
    ) -> list[Chunk]:
        chunks: list[Chunk] = []
        embed_texts = []
        spans = [span if len(span) == 4 else (*span, "") for span in spans]  # (start, end, element, lead)
        for start, end, element, lead in spans:
            prefix, _ = self._prefix_cached(title, tuple(element.section_path))
            embed_texts.append(prefix + lead + parsed.text[start:end])
        counts = self._count(embed_texts)
        for (start, end, element, lead), embed_text, n in zip(spans, embed_texts, counts, strict=True):
            text = lead + parsed.text[start:end]
            if n > max_total:  # separators between packed elements can add a few tokens: cut at a token edge
                prefix = embed_text[: len(embed_text) - len(text)]
                cut = self._offsets(embed_text)[max_total - 1][1]
                end = start + max(1, cut - len(prefix) - len(lead))
                text = lead + parsed.text[start:end]
                embed_text = prefix + text
                n = self._count([embed_text])[0]
            chunks.append(
                Chunk(
                    doc_id=doc_id,
                    index=len(chunks),
                    text=text,
                    embed_text=embed_text,
                    page=element.page,
                    section_path=element.section_path,
                    char_start=start,
                    char_end=end,
                    token_count=n + SPECIAL_TOKENS,
                    ocr_confidence=element.ocr_confidence,
                )
            )
        return chunks
