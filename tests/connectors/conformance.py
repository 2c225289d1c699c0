"""The connector conformance suite: every connector, built-in or plugin, runs it against its test source.

Subclass `ConnectorConformance` in a test module and give it a `source` fixture returning a `TestSource`
that has already written the three `START` items. The suite drives the real ingestor (parsers, the
OpenVINO encoder, the embedded index) and checks: a full load; an incremental sync that re-fetches only
what changed; deletions found from the current listing; a re-run that changes nothing; resuming after a
sync killed mid-way, ending with the index a clean run builds; and, where the source has permissions, a
permission-only change that updates the ACL payloads without embedding anything, so search as the removed
principal stops finding the item. docs/architecture.md has the recipe for a third-party connector.
"""

from __future__ import annotations

from typing import Protocol

import pytest

from citewise.connectors.base import Connector, UnchangedItem, VersionedConnector
from citewise.ingest.pipeline import Ingestor
from citewise.models import Principal
from citewise.retrieval.retriever import RetrievalRequest, Retriever

START = {
    "alpha.txt": "Alpha explains the annual leave policy: 27 days of paid holiday per year.",
    "beta.md": "# Beta\n\nBeta covers travel: trains in second class and hotels up to 160 euros a night.",
    "gamma.txt": "Gamma describes the VPN, which disconnects after twelve hours without traffic.",
}


class TestSource(Protocol):
    """A live test source (a bucket, a repository, a database, a mailbox) and how to change it."""

    supports_acl: bool
    replaces_on_change: bool  # a changed item comes back as a new item (IMAP: a new UID), the old one goes
    change_feed: bool  # later syncs read the source's change feed: unchanged items are not even listed

    def connector(self) -> Connector: ...

    def put(self, key: str, text: str) -> None:
        """Add or change an item."""

    def remove(self, key: str) -> None: ...

    def restrict(self, key: str, principals: list[str]) -> None:
        """Change only who may read the item (sources with permissions)."""


def _index(ing: Ingestor) -> dict[str, tuple]:
    return {p.id: (p.payload.key, p.payload.text, tuple(p.payload.acl)) for p in ing.store.scroll()}


def _sync(settings, encoder, source: TestSource):  # noqa: ANN001, ANN202
    ing = Ingestor(settings, encoder=encoder)
    try:
        return ing.sync(source.connector()), _index(ing)
    finally:
        ing.close()


class ConnectorConformance:
    """The shared tests; `source` is the subclass's fixture."""

    def test_full_load_indexes_every_item(self, source, settings, encoder):
        report, index = _sync(settings, encoder, source)
        assert (report.added, report.failed) == (3, 0), report.errors
        texts = " ".join(text for _, text, _ in index.values())
        assert all(word in texts for word in ("27 days", "160 euros", "twelve hours"))

    def test_incremental_sync_takes_only_what_changed(self, source, settings, encoder):
        _sync(settings, encoder, source)
        source.put("beta.md", "# Beta\n\nBeta covers travel: hotels up to 170 euros a night now.")
        source.put("delta.txt", "Delta is new: the cafeteria serves lunch from 11:30.")
        report, index = _sync(settings, encoder, source)
        unchanged = 0 if getattr(source, "change_feed", False) else 2
        if getattr(source, "replaces_on_change", False):
            assert (report.added, report.updated, report.unchanged, report.deleted) == (2, 0, unchanged, 1)
        else:
            assert (report.added, report.updated, report.unchanged, report.deleted) == (1, 1, unchanged, 0)
        texts = " ".join(text for _, text, _ in index.values())
        assert "170 euros" in texts and "160 euros" not in texts and "11:30" in texts
        connector = source.connector()
        if isinstance(connector, VersionedConnector):  # unchanged items are listed, not fetched
            ing = Ingestor(settings, encoder=encoder)
            try:
                known = ing.state.for_source(connector.source_id, "default")
                connector.set_known_versions({r.uri: r.source_version for r in known.values() if r.source_version})
                assert all(isinstance(item, UnchangedItem) for item in connector.load())
            finally:
                ing.close()

    def test_deleted_items_leave_the_index(self, source, settings, encoder):
        _sync(settings, encoder, source)
        source.remove("gamma.txt")
        report, index = _sync(settings, encoder, source)
        assert report.deleted == 1 and not any("twelve hours" in text for _, text, _ in index.values())

    def test_a_rerun_changes_nothing(self, source, settings, encoder):
        _, first = _sync(settings, encoder, source)
        report, again = _sync(settings, encoder, source)
        unchanged = 0 if getattr(source, "change_feed", False) else 3
        assert (report.added, report.updated, report.unchanged, report.embedded) == (0, 0, unchanged, 0)
        assert again == first

    def test_a_sync_killed_mid_way_resumes_to_the_clean_index(self, source, settings, encoder, monkeypatch):
        settings.ingest.batch_docs = 1
        ing = Ingestor(settings, encoder=encoder)
        real, calls = Ingestor._finish, []

        def dies_after_one_batch(self, prepared, *args, **kwargs):  # noqa: ANN001, ANN202
            if calls:  # the second batch is embedded and about to be written
                raise KeyboardInterrupt("killed")  # what a kill looks like to the code that ran so far
            calls.append(len(prepared.ready))
            return real(self, prepared, *args, **kwargs)

        monkeypatch.setattr(Ingestor, "_finish", dies_after_one_batch)
        with pytest.raises(KeyboardInterrupt):
            ing.sync(source.connector())
        ing.close()
        monkeypatch.setattr(Ingestor, "_finish", real)
        report, resumed = _sync(settings, encoder, source)
        assert report.unchanged >= 1 and report.added + report.unchanged == 3  # the first batch is not redone
        settings.data_dir = settings.data_dir.with_name("clean")
        _, clean = _sync(settings, encoder, source)
        assert resumed == clean

    def test_a_permission_change_updates_payloads_without_embedding(self, source, settings, encoder):
        if not source.supports_acl:
            pytest.skip("this source has no permissions of its own")
        _sync(settings, encoder, source)
        source.restrict("alpha.txt", ["group:hr"])
        ing = Ingestor(settings, encoder=encoder)
        try:
            report = ing.sync(source.connector())
            assert report.updated == report.permissions_updated == 1 and report.embedded == 0  # payloads only
            retriever = Retriever(settings, store=ing.store, encoder=encoder)
            outsider, hr = Principal(user_id="ann", groups=["eng"]), Principal(user_id="hana", groups=["hr"])
            query = "how many days of annual leave"
            found = retriever.run(RetrievalRequest(query=query, principal=outsider, k=5)).hits
            assert not any("27 days" in h.text for h in found)
            assert "27 days" in retriever.run(RetrievalRequest(query=query, principal=hr, k=5)).hits[0].text
        finally:
            ing.close()
