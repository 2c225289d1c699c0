"""Decide a document's format from its name and its first bytes; refuse what cannot be parsed, saying why."""

from __future__ import annotations

from pathlib import PurePath

from citewise.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    UnsupportedFormatError,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

EXTENSIONS: dict[str, str] = {
    "txt": "text",
    "text": "text",
    "log": "text",
    "md": "md",
    "markdown": "md",
    "rst": "rst",
    "org": "org",
    "html": "html",
    "htm": "html",
    "xhtml": "html",
    "xml": "xml",
    "json": "json",
    "ndjson": "ndjson",
    "jsonl": "ndjson",
    "csv": "csv",
    "tsv": "tsv",
    "eml": "eml",
    "msg": "msg",
    "docx": "docx",
    "pptx": "pptx",
    "xlsx": "xlsx",
    "odt": "odt",
    "rtf": "rtf",
    "epub": "epub",
    "pdf": "pdf",
}
ZIP_FORMATS = {"docx", "pptx", "xlsx", "odt", "epub"}
LEGACY = {
    "doc": ("Word 97-2003 document", "docx"),
    "ppt": ("PowerPoint 97-2003 presentation", "pptx"),
    "xls": ("Excel 97-2003 workbook", "xlsx"),
}
CIPHERTEXT = {
    "p7m": "an S/MIME-encrypted message",
    "p7c": "an S/MIME-encrypted message",
    "pgp": "PGP-encrypted",
    "gpg": "PGP-encrypted",
}
IMAGES = {"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"}  # OCR'd (ocr.py)
BINARY_KINDS = {
    "heic": "image",
    "mp3": "audio",
    "wav": "audio",
    "mp4": "video",
    "mov": "video",
    "zip": "archive (opened by the ingestor into its members, not parsed as one file)",
    "gz": "archive (only .tar.gz is opened)",
    "tar": "archive (opened by the ingestor into its members, not parsed as one file)",
    "7z": "archive",
    "exe": "executable",
    "bin": "binary",
}


def _looks_like_text(content: bytes) -> bool:
    head = content[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a multibyte char cut at the 8 KiB boundary
    return True


def detect_format(filename: str, content: bytes) -> str:
    ext = PurePath(filename).suffix.lower().lstrip(".")
    if not content:
        raise EmptyDocumentError("the file is empty (0 bytes)")
    if ext in LEGACY:
        what, modern = LEGACY[ext]
        if content.startswith(ZIP_MAGIC):  # a modern file saved under the old name (seen in the wild)
            return modern
        if not content.startswith(OLE_MAGIC):
            raise CorruptDocumentError(f"not a valid .{ext} file ({what}: no OLE container); damaged or mislabelled")
        if _ole_encrypted(content):
            raise EncryptedDocumentError(
                f"the .{ext} file is password-protected; remove the password and ingest it again"
            )
        return ext  # converted by LibreOffice (legacy.py)
    if ext in IMAGES:
        return "image"
    if ext in CIPHERTEXT:
        raise EncryptedDocumentError(f"the .{ext} file is {CIPHERTEXT[ext]}: only ciphertext, nothing to read")
    fmt = EXTENSIONS.get(ext)
    if fmt is None:
        if ext in BINARY_KINDS:
            raise UnsupportedFormatError(f".{ext} files ({BINARY_KINDS[ext]}) carry no text that can be indexed")
        if _looks_like_text(content):
            return "text"
        shown = f".{ext}" if ext else "files without an extension"
        raise UnsupportedFormatError(
            f"{shown} of this kind are not supported (binary content); supported: " + ", ".join(sorted(set(EXTENSIONS)))
        )
    if fmt in ZIP_FORMATS and not content.startswith(ZIP_MAGIC):
        if content.startswith(OLE_MAGIC):
            raise EncryptedDocumentError(
                f"the .{ext} file is encrypted or password-protected; remove the password and ingest it again"
            )
        raise CorruptDocumentError(f"not a valid .{ext} file (no ZIP container); it is damaged or mislabelled")
    if fmt == "msg" and not content.startswith(OLE_MAGIC):
        raise CorruptDocumentError("not a valid Outlook .msg file; it is damaged or mislabelled")
    if fmt == "pdf" and b"%PDF-" not in content[:1024]:
        raise CorruptDocumentError("not a valid PDF (no %PDF header); it is damaged or mislabelled")
    return fmt


def _ole_encrypted(content: bytes) -> bool:
    """A password-protected Word, Excel or PowerPoint 97-2003 file (its OLE streams say so)."""
    import io

    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            if ole.exists("EncryptedSummary") or ole.exists("EncryptionInfo"):
                return True  # PowerPoint's, and any file encrypted with the RC4 CryptoAPI scheme
            if ole.exists("WordDocument"):
                fib = ole.openstream("WordDocument").read(12)
                return len(fib) >= 12 and bool(int.from_bytes(fib[10:12], "little") & 0x0100)  # fEncrypted
            for name in ("Workbook", "Book"):
                if ole.exists(name):
                    return _biff_filepass(ole.openstream(name).read(8192))
    except OSError:
        return False
    return False


def _biff_filepass(stream: bytes) -> bool:
    """Whether the first BIFF records of a workbook stream hold FILEPASS (0x002F): the workbook is encrypted."""
    at = 0
    for _ in range(64):
        if at + 4 > len(stream):
            return False
        kind, size = int.from_bytes(stream[at : at + 2], "little"), int.from_bytes(stream[at + 2 : at + 4], "little")
        if kind == 0x002F:
            return True
        at += 4 + size
    return False
