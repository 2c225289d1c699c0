"""Archives and e-mails opened into documents of their own: members linked to their container with its
ACL, nested archives, and the limits (zip bomb, tar bomb, member count, depth) failing with a reason."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from email.message import EmailMessage

from citewise.connectors.base import FailedItem
from citewise.ingest.containers import ContainerLimits, expand
from citewise.models import RawDocument


def _doc(name: str, content: bytes, acl: list[str] | None = None) -> RawDocument:
    return RawDocument(source_id="t", key=name, uri=f"/srv/{name}", title=name, content=content, acl=acl,
                       metadata={"filename": name, "size_bytes": len(content)})  # fmt: skip


def _zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tar(files: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            t.addfile(info)
    return buf.getvalue()


def test_members_are_documents_linked_to_the_archive_with_its_acl():
    inner = _tar({"notes/deep.txt": b"The deepest note."})
    archive = _zip({"a/readme.md": b"# Readme\n\nHello.", "../../etc/passwd": b"root:x", "inner.tar.gz": inner})
    items = list(expand(iter([_doc("bundle.zip", archive, acl=["group:eng"])]), ContainerLimits()))
    docs = {i.uri: i for i in items if isinstance(i, RawDocument)}
    listing = docs["/srv/bundle.zip"]
    assert listing.content is None and "a/readme.md" in listing.text and listing.metadata["members"] == 3
    readme = docs["/srv/bundle.zip!/a/readme.md"]
    assert readme.content == b"# Readme\n\nHello." and readme.acl == ["group:eng"]
    assert readme.metadata["attached_to"] == "/srv/bundle.zip" and readme.title == "readme.md (bundle.zip)"
    assert "/srv/bundle.zip!/etc/passwd" in docs  # `..` is dropped: a name, never a path out of anywhere
    deep = docs["/srv/bundle.zip!/inner.tar.gz!/notes/deep.txt"]  # a nested archive is opened too
    assert deep.metadata["attached_to"] == "/srv/bundle.zip!/inner.tar.gz" and deep.acl == ["group:eng"]


def test_a_zip_bomb_fails_fast_in_bounded_memory_and_the_batch_goes_on():
    bomb = _zip({"zeros.bin": b"\0" * (64 * 2**20)})  # 64 MiB of zeros in ~64 KiB
    started = time.perf_counter()
    items = list(expand(iter([_doc("bomb.zip", bomb), _doc("ok.txt", b"fine")]), ContainerLimits()))
    assert time.perf_counter() - started < 2  # refused from its directory, nothing decompressed
    assert isinstance(items[0], FailedItem) and "zip bomb" in items[0].error
    assert isinstance(items[1], RawDocument) and items[1].content == b"fine"
    small = ContainerLimits(max_total_bytes=1000)
    failed = next(expand(iter([_doc("big.zip", _zip({"a": b"x" * 2000}, zipfile.ZIP_STORED))]), small))
    assert isinstance(failed, FailedItem) and "over the" in failed.error


def test_a_tar_bomb_stops_at_the_limit_and_links_are_not_followed():
    limits = ContainerLimits(max_total_bytes=4 * 2**20)
    bomb = _tar({f"part{i}.bin": b"\0" * 2**20 for i in range(8)})
    failed = next(expand(iter([_doc("bomb.tar.gz", bomb)]), limits))
    assert isinstance(failed, FailedItem) and "tar bomb" in failed.error
    linked = _tar({"ok.txt": b"hello"}, mode="w", links={"escape": "/etc/shadow"})
    items = list(expand(iter([_doc("links.tar", linked)]), ContainerLimits()))
    errors = {i.uri: i.error for i in items if isinstance(i, FailedItem)}
    assert errors == {"/srv/links.tar!/escape": "a link inside the archive: not followed"}
    assert any(isinstance(i, RawDocument) and i.content == b"hello" for i in items)


def test_member_count_depth_and_damage_have_reasons():
    many = _zip({f"f{i}.txt": b"x" for i in range(20)})
    failed = next(expand(iter([_doc("many.zip", many)]), ContainerLimits(max_members=10)))
    assert isinstance(failed, FailedItem) and "20 members, over the limit of 10" in failed.error
    nested = _zip({"l1.zip": _zip({"l2.zip": _zip({"x.txt": b"deep"})})})
    items = list(expand(iter([_doc("n.zip", nested)]), ContainerLimits(max_depth=2)))
    deep = [i for i in items if isinstance(i, FailedItem)]
    assert len(deep) == 1 and "nested deeper than 2" in deep[0].error
    broken = next(expand(iter([_doc("broken.zip", b"PK\x03\x04 not really a zip")]), ContainerLimits()))
    assert isinstance(broken, FailedItem) and "damaged" in broken.error


def test_email_attachments_follow_the_message():
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "Payslip", "hr@example.com", "ann@example.com"
    message.set_content("Your payslip is attached.")
    message.add_attachment(b"Net pay: 4,210 euros.", maintype="text", subtype="plain", filename="payslip.txt")
    items = list(expand(iter([_doc("mail.eml", message.as_bytes(), acl=["user:ann@example.com"])]), ContainerLimits()))
    assert [i.uri for i in items] == ["/srv/mail.eml", "/srv/mail.eml!/1/payslip.txt"]
    assert items[0].content == message.as_bytes()  # the message itself is parsed as usual
    assert items[1].content == b"Net pay: 4,210 euros." and items[1].acl == ["user:ann@example.com"]


def test_a_forwarded_message_is_an_email_of_its_own_and_a_bodyless_one_keeps_its_headers():
    inner = EmailMessage()
    inner["Subject"] = "Original"
    inner.set_content("The offsite moves to Lisbon.")
    outer = EmailMessage()
    outer["Subject"], outer["From"] = "Fwd: Original", "ann@example.com"
    outer.add_attachment(inner)  # message/rfc822, and no body of its own
    items = list(expand(iter([_doc("fwd.eml", outer.as_bytes())]), ContainerLimits()))
    assert [i.uri for i in items] == ["/srv/fwd.eml", "/srv/fwd.eml!/1/attachment-1.eml"]
    assert "Subject: Fwd: Original" in items[0].text and "attachment-1.eml" in items[0].text
    assert b"The offsite moves to Lisbon." in items[1].content
