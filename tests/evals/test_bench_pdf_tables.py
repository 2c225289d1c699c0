"""`citewise bench pdf-tables` over generated PDFs: a ruled table is found and counted, a page of prose has
no grid, and the table search loses or adds no word."""

from __future__ import annotations

from citewise.evals.bench_pdf_tables import run_pdf_tables_benchmark
from tests.ingest.pdf_writer import PdfPage, pdf_bytes


def test_the_benchmark_counts_grids_and_tables_and_checks_every_word(tmp_path):
    rows = [["Item", "Limit"], ["Hotel", "150 EUR"], ["Taxi", "40 EUR"]]
    table = PdfPage().text(72, 740, "Limits below.").grid([72.0, 200.0, 330.0], [700.0, 680.0, 660.0, 640.0], rows)
    (tmp_path / "limits.pdf").write_bytes(pdf_bytes([table]))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "prose.pdf").write_bytes(pdf_bytes([PdfPage().text(72, 740, "Only prose on this page.")]))
    result = run_pdf_tables_benchmark(tmp_path, repeats=1, log=lambda _: None)
    assert (result["pdfs"], result["pages"], result["grid_pages"], result["tables"]) == (2, 2, 1, 1)
    assert result["tables_by_file"] == {"limits.pdf": 1} and result["words_changed"] == {}
    assert result["plain_s"] > 0 and result["with_tables_s"] > 0
