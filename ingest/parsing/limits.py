"""Checks run on a file before a parser opens it: archive-based formats are measured from their ZIP
directory (no member is decompressed), so a zip bomb fails in milliseconds with a reason."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from citewise.errors import CorruptDocumentError, DocumentError


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_expanded_bytes: int = 512 * 1024 * 1024
    max_members: int = 10_000
    max_ratio: float = 200.0  # expanded / compressed, for members big enough to matter
    ratio_floor_bytes: int = 8 * 1024 * 1024  # members that expand below this are never a bomb


def check_archive(content: bytes, ext: str, limits: ArchiveLimits) -> None:
    """Refuse a ZIP container (DOCX, XLSX, PPTX, ODT, EPUB) whose declared expansion is hostile."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorruptDocumentError(f"not a valid .{ext} file: the ZIP container is damaged ({exc})") from exc
    if len(members) > limits.max_members:
        raise DocumentError(
            f"the .{ext} container holds {len(members):,} members, over the limit of {limits.max_members:,}",
            kind="too_many_members",
        )
    total = sum(m.file_size for m in members)
    if total > limits.max_expanded_bytes:
        raise DocumentError(
            f"the .{ext} container expands to {total / 2**20:,.0f} MiB, over the "
            f"{limits.max_expanded_bytes / 2**20:,.0f} MiB limit (a zip bomb or an oversized file)",
            kind="too_large_expanded",
        )
    for m in members:
        if m.file_size >= limits.ratio_floor_bytes and m.file_size > limits.max_ratio * max(m.compress_size, 1):
            raise DocumentError(
                f"member {m.filename!r} of the .{ext} container expands {m.file_size / max(m.compress_size, 1):,.0f}"
                f" times (limit {limits.max_ratio:g}): a zip bomb",
                kind="too_large_expanded",
            )
