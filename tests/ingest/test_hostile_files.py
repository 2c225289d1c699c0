"""Hostile files fail alone, fast, in bounded memory, with a reason; the normal file beside them is indexed.

Every file is generated here: zip bombs (DOCX, XLSX, too many members), billion laughs, XXE, a sparse file,
a one-line CSV, JSON nested 100,000 deep, a FIFO, a device node, symlinks in and out of the root.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from citewise.connectors.filesystem import FilesystemConnector
from citewise.ingest.pipeline import Ingestor

NORMAL = "The cafeteria serves vegetarian lasagne every Tuesday at noon.\n"
PARENT_GROWTH_LIMIT = 400 * 2**20  # the parent never holds an expanded bomb


class PeakRss:
    """Samples this process's resident memory while the block runs."""

    def __enter__(self) -> PeakRss:
        self.proc = psutil.Process()
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _zip_bomb(path: Path, members: dict[str, int], extra: dict[str, bytes] | None = None) -> None:
    """A real ZIP whose members expand to the given sizes of zeros (written in pieces: fast, small)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        block = b"\0" * (8 * 2**20)
        for name, size in members.items():
            with z.open(name, "w", force_zip64=True) as out:
                for _ in range(size // len(block)):
                    out.write(block)


def _docx_parts() -> dict[str, bytes]:
    return {"[Content_Types].xml": b'<?xml version="1.0"?><Types/>', "_rels/.rels": b"<Relationships/>"}


@pytest.fixture
def hostile(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "normal.txt").write_text(NORMAL)
    _zip_bomb(root / "bomb.docx", {"word/document.xml": 640 * 2**20}, _docx_parts())
    _zip_bomb(root / "bomb.xlsx", {"xl/worksheets/sheet1.xml": 640 * 2**20}, _docx_parts())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(10_050):
            z.writestr(f"word/m{i}.xml", b"x")
    (root / "members.docx").write_bytes(buf.getvalue())
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    (root / "laughs.xml").write_text(f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><r>&l9;</r>')
    (root / "xxe.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>before &x; after</r>'
    )
    with (root / "sparse.txt").open("wb") as f:  # 8 GiB on paper, nothing on disk
        f.truncate(8 * 2**30)
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "oneline.csv").write_bytes(b"a,b\n1," + b"x" * (50 * 2**20) + b"\n")  # one 50 MB line
    os.mkfifo(root / "pipe.txt")
    (root / "inside.txt").symlink_to(root / "normal.txt")
    (root / "passwd.txt").symlink_to("/etc/passwd")
    (root / "etc").symlink_to("/etc")
    (root / "zero.txt").symlink_to("/dev/zero")
    try:
        os.mknod(root / "device.txt", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # a second /dev/zero
    except PermissionError:
        pass  # not root: the FIFO covers the "never open a non-file" path
    return root


def test_hostile_files_fail_alone_with_reasons(settings, encoder, hostile):
    settings.ingest.max_file_mb = 200
    settings.ingest.max_text_mb = 8  # the one-line CSV's 50 MB cell is refused, not chunked for minutes
    ing = Ingestor(settings, encoder=encoder)
    started = time.monotonic()
    with PeakRss() as rss:
        report = ing.sync(FilesystemConnector(path=hostile, max_bytes=int(settings.ingest.max_file_mb * 1e6)))
    elapsed = time.monotonic() - started
    reasons = {Path(e.path).name: e.error.split(":", 1)[0] for e in report.errors}
    assert reasons["bomb.docx"] == "too_large_expanded"
    assert reasons["bomb.xlsx"] == "too_large_expanded"
    assert reasons["members.docx"] == "too_many_members"
    assert reasons["sparse.txt"] == "too_large"
    assert reasons["deep.json"] == "too_deep"
    assert reasons["oneline.csv"] in {"too_large_expanded", "memory_limit"}
    assert reasons["pipe.txt"] == "not_a_regular_file"
    assert reasons["passwd.txt"] == reasons["etc"] == reasons["zero.txt"] == "symlink_outside_root"
    if (hostile / "device.txt").exists():
        assert reasons["device.txt"] == "not_a_regular_file"
    texts = " ".join(p.payload.text for p in ing.store.scroll())
    assert "vegetarian lasagne" in texts  # the normal file, and the in-root link to it
    assert {p.payload.key for p in ing.store.scroll() if "lasagne" in p.payload.text} == {"normal.txt", "inside.txt"}
    assert "root:x:0:0" not in texts  # XXE never resolved, by the XML file or by a link
    if "laughs.xml" not in reasons:  # billion laughs: refused, or parsed without expanding the entities
        assert texts.count("lol") < 10_000
    assert rss.growth < PARENT_GROWTH_LIMIT, f"parent grew {rss.growth / 2**20:.0f} MiB"
    assert elapsed < 120
    ing.close()


def test_symlinks_are_not_followed_when_the_connector_says_so(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.txt").write_text("alpha")
    (root / "b.txt").symlink_to(root / "a.txt")
    items = {i.key: i for i in FilesystemConnector(path=root, follow_symlinks=False).load()}
    assert items["a.txt"].content == b"alpha"
    assert items["b.txt"].error.startswith("symlink_skipped")


def test_a_symlink_loop_inside_the_root_is_walked_once(tmp_path):
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("alpha")
    (root / "sub" / "again").symlink_to(root)  # a loop back to the root
    keys = sorted(i.key for i in FilesystemConnector(path=root).load())
    assert keys == ["sub/a.txt"]


def test_a_worker_killed_for_memory_is_replaced(tmp_path):
    from citewise.errors import DocumentError
    from citewise.ingest.parsing.sandbox import ParserSandbox, SandboxLimits
    from citewise.models import RawDocument

    sandbox = ParserSandbox(SandboxLimits(memory_bytes=300 * 2**20, wall_s=60))
    big = RawDocument(source_id="s", key="a.csv", uri="/a.csv", content=b"a," + b"x" * (120 * 2**20) + b"\n",
                      metadata={"filename": "a.csv"})  # fmt: skip
    with pytest.raises(DocumentError) as failed:
        sandbox.parse(big)
    assert failed.value.kind == "memory_limit"
    ok = RawDocument(source_id="s", key="b.md", uri="/b.md", content=b"# B\n\nBeta text.\n", metadata={})
    assert "Beta text." in sandbox.parse(ok).text
    sandbox.close()


def test_a_parser_that_hangs_is_stopped_by_the_wall_clock(monkeypatch):
    from citewise.errors import DocumentError
    from citewise.ingest.parsing.sandbox import ParserSandbox, SandboxLimits
    from citewise.models import RawDocument

    sandbox = ParserSandbox(SandboxLimits(wall_s=1.5, cpu_s=1.0))
    # Markdown goes through unstructured's per-paragraph classifier: seconds for this, far past the limits.
    paragraphs = b"\n\n".join(f"Paragraph {i} talks about things.".encode() for i in range(20_000))
    slow = RawDocument(source_id="s", key="a.md", uri="/a.md", metadata={"filename": "a.md"}, content=paragraphs)
    with pytest.raises(DocumentError) as failed:
        sandbox.parse(slow)
    assert failed.value.kind in {"timeout", "cpu_limit"}
    ok = RawDocument(source_id="s", key="b.md", uri="/b.md", content=b"# B\n\nBeta text.\n", metadata={})
    assert "Beta text." in sandbox.parse(ok).text
    sandbox.close()


def test_one_sandbox_parses_from_several_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    from citewise.ingest.parsing.sandbox import ParserSandbox
    from citewise.models import RawDocument

    sandbox = ParserSandbox()
    docs = [
        RawDocument(
            source_id="s",
            key=f"{i}.md",
            uri=f"/{i}.md",
            content=f"# Doc {i}\n\nBody of doc {i}.".encode(),
            metadata={"filename": f"{i}.md"},
        )  # fmt: skip
        for i in range(12)
    ]
    with ThreadPoolExecutor(4) as pool:  # Celery threads on one shared ingestor do this
        texts = list(pool.map(lambda d: sandbox.parse(d).text, docs))
    assert texts == [f"Doc {i}\n\nBody of doc {i}." for i in range(12)]
