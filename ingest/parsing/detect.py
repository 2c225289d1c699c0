"""Decide a document's format from its name and its first bytes; refuse what cannot be parsed, saying why."""

from __future__ import annotations

from pathlib import PurePath

from citewise.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    LegacyFormatError,
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
BINARY_KINDS = {
    "png": "image",
    "jpg": "image",
    "jpeg": "image",
    "gif": "image",
    "bmp": "image",
    "tif": "image",
    "tiff": "image",
    "heic": "image",
    "webp": "image",
    "mp3": "audio",
    "wav": "audio",
    "mp4": "video",
    "mov": "video",
    "zip": "archive",
    "gz": "archive",
    "tar": "archive",
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
        raise LegacyFormatError(
            f".{ext} ({what}) is a legacy binary format that is not parsed; save it as .{modern} and ingest that"
        )
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
