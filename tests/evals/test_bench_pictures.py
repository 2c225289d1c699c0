"""`citewise bench pictures` over generated files: a docx whose picture holds text gains it, one without a
picture does not, and both sides are timed."""

from __future__ import annotations

import pytest

from citewise.evals.bench_pictures import run_pictures_benchmark
from tests.ingest.test_pictures import _docx, _png

pytestmark = pytest.mark.integration


def test_the_benchmark_times_both_ways_and_names_the_files_that_gained_text(tmp_path):
    (tmp_path / "scan.docx").write_bytes(_docx("Cover note.", _png("Text in the picture.")))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "plain.docx").write_bytes(_docx("Only text here."))
    (tmp_path / "notes.txt").write_text("not an Office file")
    result = run_pictures_benchmark(tmp_path, repeats=1, log=lambda _: None)
    assert result["files"] == 2 and result["picture_blocks_by_file"] == {"scan.docx": 1}
    assert result["without_pictures_s"] > 0 and result["with_pictures_s"] > 0
