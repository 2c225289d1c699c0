import io

from rich.console import Console

from citewise.connectors.filesystem import FilesystemConnector
from citewise.ingest.pipeline import Ingestor
from citewise.ingest.progress import NoProgress, RichProgress, default_progress


def test_rich_progress_shows_docs_chunks_and_eta():
    out = io.StringIO()
    bar = RichProgress(Console(file=out, force_terminal=True, width=160))
    bar.start(4, "ingest docs")
    bar.advance(1, 10)
    bar.advance(3, 5)
    bar.finish()
    text = out.getvalue()
    assert "4/4" in text and "15 chunks" in text and "chunks/s" in text and "ETA" in text


def test_quiet_or_piped_output_gets_no_progress():
    assert isinstance(default_progress(quiet=True), NoProgress)


class CountingConnector(FilesystemConnector):
    listed = 0

    def list_ids(self):
        CountingConnector.listed += 1
        return super().list_ids()


def test_source_is_listed_for_a_total_only_when_a_bar_shows_it(settings, encoder, tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    ing = Ingestor(settings, encoder=encoder)
    ing.sync(CountingConnector(path=tmp_path), progress=NoProgress())
    assert CountingConnector.listed == 0
    ing.sync(CountingConnector(path=tmp_path), progress=RichProgress(Console(file=io.StringIO())))
    assert CountingConnector.listed == 1
    ing.close()
