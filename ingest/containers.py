"""Containers opened into documents of their own: the members of .zip, .tar, .tar.gz/.tgz archives and
the attachments of e-mails (.eml), each with the container's ACL and linked to it (`attached_to`); the
member of a member is opened too, down to `max_depth`. An archive itself is indexed as the list of its
members. Members are named `<container uri>!/<path>`: when the connector lists the container as unchanged,
the ingestor keeps its members (see `children_of`).

Archives are measured before anything is read, from the ZIP directory or the tar headers (a tar.gz is
decompressed as its headers are walked, and the walk stops at the size limit), so a zip bomb fails in
milliseconds with its reason and the rest of the batch goes on. Links, devices and FIFOs inside archives
are reported, never followed; paths stay names (nothing is written to disk)."""

from __future__ import annotations

import email
import email.policy
import io
import mimetypes
import posixpath
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from citewise.connectors.base import FailedItem
from citewise.models import RawDocument

SEPARATOR = "!/"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


@dataclass(frozen=True, slots=True)
class ContainerLimits:
    max_members: int = 1_000
    max_total_bytes: int = 512 * 1024 * 1024  # expanded, all members together
    max_member_bytes: int = 200 * 1024 * 1024
    max_depth: int = 3  # an archive in an archive in an archive
    max_ratio: float = 200.0  # expanded / compressed, for members big enough to matter
    ratio_floor_bytes: int = 8 * 1024 * 1024


class ContainerError(Exception):
    """Why a container is refused as a whole (its reason goes to the report)."""


def kind_of(doc: RawDocument) -> str | None:
    """ "zip", "tar", "eml" or None, from the file name and the first bytes."""
    if doc.content is None:
        return None
    name = str(doc.metadata.get("filename") or PurePosixPath(doc.uri).name).lower()
    head = doc.content[:512]
    if name.endswith(".zip") and head.startswith(b"PK"):
        return "zip"
    if name.endswith((".tar", ".tar.gz", ".tgz")):
        return "tar"
    if name.endswith(".eml"):
        return "eml"
    return None


def children_of(uri: str) -> str:
    """The prefix every member of the container at `uri` has."""
    return uri + SEPARATOR


def expand(items: Iterator, limits: ContainerLimits) -> Iterator:
    """The connector's items, with every container followed by its members (depth-first)."""
    for item in items:
        if isinstance(item, RawDocument) and kind_of(item):
            yield from _open(item, limits, depth=1)
        else:
            yield item


def _open(doc: RawDocument, limits: ContainerLimits, depth: int) -> Iterator:
    kind = kind_of(doc)
    try:
        members = list(_MEMBERS[kind](doc.content, limits))
    except ContainerError as exc:
        yield FailedItem(key=doc.key, uri=doc.uri, error=str(exc))
        return
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        yield FailedItem(key=doc.key, uri=doc.uri, error=f"the {kind} container is damaged: {exc}")
        return
    if kind == "eml":
        yield _message_itself(doc, members)  # parsed as usual; its attachments follow
    else:
        listing = "\n".join(
            f"- {m.path}" if m.content is not None else f"- {m.path} (skipped: {m.error})" for m in members
        )
        text = f"{doc.title}: an archive of {len(members)} files.\n\n{listing}"
        yield doc.model_copy(
            update={"content": None, "text": text, "metadata": {**doc.metadata, "members": len(members)}}
        )
    for member in members:
        uri = doc.uri + SEPARATOR + member.path
        if member.content is None:
            yield FailedItem(key=doc.key + SEPARATOR + member.path, uri=uri, error=member.error)
            continue
        child = RawDocument(
            source_id=doc.source_id, key=doc.key + SEPARATOR + member.path, uri=uri,
            title=f"{posixpath.basename(member.path)} ({doc.title})", content=member.content, acl=doc.acl,
            modified_at=doc.modified_at, version=doc.version, mime_type=member.mime_type,
            metadata={"filename": posixpath.basename(member.path), "attached_to": doc.uri,
                      "container_path": member.path, "size_bytes": len(member.content)},
        )  # fmt: skip
        if kind_of(child):
            if depth >= limits.max_depth:
                yield FailedItem(key=child.key, uri=uri, error=f"nested deeper than {limits.max_depth} containers")
                continue
            yield from _open(child, limits, depth + 1)
        else:
            yield child


@dataclass(slots=True)
class _Member:
    path: str
    content: bytes | None
    error: str = ""
    mime_type: str | None = None


def _message_itself(doc: RawDocument, members: list[_Member]) -> RawDocument:
    """The e-mail as parsed; one with no body of its own (a digest, a forward) is its headers and the list of
    what it carries, so it stays findable and its attachments stay linked to something."""
    message = email.message_from_bytes(doc.content, policy=email.policy.default)
    if message.get_body(preferencelist=("plain", "html")) is not None or not members:
        return doc
    head = "\n".join(f"{k}: {message[k]}" for k in ("Subject", "From", "To", "Date") if message[k])
    listing = "\n".join(f"- {m.path.split('/', 1)[-1]}" for m in members)
    return doc.model_copy(update={"content": None, "text": f"{head}\n\nAttached:\n{listing}"})


def _clean(path: str) -> str:
    """A member's name as a relative POSIX path with no `..` or empty parts (it only names, never opens)."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "unnamed"


def _zip_members(content: bytes, limits: ContainerLimits) -> Iterator[_Member]:
    from citewise.errors import DocumentError
    from citewise.ingest.parsing.limits import ArchiveLimits, check_archive

    try:  # the same directory checks as for Office containers: count, expanded size, compression ratio
        check_archive(content, "zip", ArchiveLimits(max_expanded_bytes=limits.max_total_bytes,
                                                    max_members=limits.max_members, max_ratio=limits.max_ratio,
                                                    ratio_floor_bytes=limits.ratio_floor_bytes))  # fmt: skip
    except DocumentError as exc:
        raise ContainerError(exc.args[0]) from None
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        for info in infos:
            if info.flag_bits & 0x1:
                yield _Member(_clean(info.filename), None, "the member is encrypted (password-protected zip)")
                continue
            if info.file_size > limits.max_member_bytes:
                yield _Member(_clean(info.filename), None, f"the member is {info.file_size:,} bytes, over the limit")
                continue
            with archive.open(info) as f:
                data = f.read(limits.max_member_bytes + 1)  # the declared size may lie: read at most the limit
            if len(data) > limits.max_member_bytes:
                raise ContainerError(f"member {info.filename!r} expands past its declared size: a zip bomb")
            yield _Member(_clean(info.filename), data)


def _tar_members(content: bytes, limits: ContainerLimits) -> Iterator[_Member]:
    members: list[tuple[tarfile.TarInfo, str]] = []
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:*") as archive:
        count = 0
        for info in archive:  # headers one by one: a tar.gz is decompressed only as far as they go
            count += 1
            if count > limits.max_members:
                raise ContainerError(f"the archive holds over {limits.max_members:,} members, the limit")
            if info.offset_data + info.size > limits.max_total_bytes:
                raise ContainerError(f"the archive expands past {limits.max_total_bytes / 2**20:,.0f} MiB, the limit"
                                     " (a tar bomb or an oversized archive)")  # fmt: skip
            if info.isdir():
                continue
            if not info.isfile():
                kind = "link" if info.issym() or info.islnk() else "device or FIFO"
                members.append((info, f"a {kind} inside the archive: not followed"))
                continue
            members.append((info, ""))
        for info, error in members:
            if error:
                yield _Member(_clean(info.name), None, error)
            elif info.size > limits.max_member_bytes:
                yield _Member(_clean(info.name), None, f"the member is {info.size:,} bytes, over the limit")
            else:
                f = archive.extractfile(info)
                yield _Member(_clean(info.name), f.read(limits.max_member_bytes + 1) if f else b"")


def _eml_members(content: bytes, limits: ContainerLimits) -> Iterator[_Member]:
    message = email.message_from_bytes(content, policy=email.policy.default)
    attachments = list(message.iter_attachments())
    total = 0
    if len(attachments) > limits.max_members:
        raise ContainerError(
            f"the message has {len(attachments):,} attachments, over the limit of {limits.max_members:,}"
        )
    for n, part in enumerate(attachments, 1):
        kind = part.get_content_type()
        fallback = f"attachment-{n}{mimetypes.guess_extension(kind) or ''}"
        name = _clean(part.get_filename() or fallback)
        if kind == "message/rfc822":  # a forwarded message (or a digest's): an e-mail of its own, opened in turn
            inner = part.get_payload()
            payload = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
            name = name if name.lower().endswith(".eml") else f"{name}.eml"
        else:
            payload = part.get_payload(decode=True) or b""
        total += len(payload)
        if total > limits.max_total_bytes:
            raise ContainerError("the message's attachments are over the size limit")
        yield _Member(f"{n}/{name}", payload, mime_type=kind)


_MEMBERS = {"zip": _zip_members, "tar": _tar_members, "eml": _eml_members}
