"""Legacy Office files (.doc, .ppt, .xls) converted by LibreOffice headless (Debian's
libreoffice-{writer,impress,calc}-nogui, installed by `make install`) to .docx/.pptx/.xlsx and parsed by
the modern formats' parser, so they get the same section, slide and sheet metadata (and tables).

Chosen by measurement on the legacy files of ../shared/evaldata/docs (`citewise bench legacy`): LibreOffice
read 6 of 6, ~1.2 s each; antiword read 1 of 4 .doc ("text stream too small" for the rest), catdoc's
catppt 0 of 1 .ppt. Each worker process keeps its own LibreOffice profile, so conversions never share a lock.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from citewise.errors import DocumentError, EncryptedDocumentError

TARGET = {"doc": "docx", "ppt": "pptx", "xls": "xlsx"}
TIMEOUT_S = 90.0


def soffice_path() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise DocumentError(
            "legacy Office files need LibreOffice (Debian: libreoffice-writer-nogui, libreoffice-impress-nogui, "
            "libreoffice-calc-nogui), which `make install` installs",
            kind="converter_unavailable",
        )
    return found


@cache
def _profile() -> Path:
    """This process's LibreOffice user profile (a second soffice on one profile waits for the first)."""
    path = Path(tempfile.mkdtemp(prefix="citewise-lo-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def convert_legacy(content: bytes, ext: str, timeout_s: float = TIMEOUT_S) -> tuple[bytes, str]:
    """(the converted file's bytes, its format) for a .doc/.ppt/.xls file."""
    target = TARGET[ext]
    with tempfile.TemporaryDirectory(prefix="citewise-legacy-") as tmp:
        source = Path(tmp) / f"input.{ext}"
        source.write_bytes(content)
        cmd = [soffice_path(), f"-env:UserInstallation={_profile().as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", target, "--outdir", tmp, str(source)]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise DocumentError(
                f"LibreOffice did not convert the .{ext} file within {timeout_s:.0f} s (damaged or protected)",
                kind="timeout",
            ) from None
        out = Path(tmp) / f"input.{target}"
        if not out.is_file() or out.stat().st_size == 0:
            said = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
            if "password" in said.lower():
                raise EncryptedDocumentError(
                    f"the .{ext} file is password-protected; remove the password and ingest it again"
                )
            raise DocumentError(
                f"LibreOffice could not read the .{ext} file (damaged or mislabelled): {said[:200] or 'no output'}",
                kind="corrupt",
            )
        return out.read_bytes(), target
