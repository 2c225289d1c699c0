"""Permission sync: N items whose ACLs all change at the source, applied in one sync with zero embeddings.

    citewise bench permissions [--items 10000]

The source is a real SQL table (SQLite) with an ACL column, synced by the `sql` connector into a fresh data
dir. The first sync indexes the items; then every row's ACL changes (content untouched) and the second
sync is timed: each document's points get their new ACL payload in place; nothing is parsed, chunked or
embedded. A third sync (nothing changed) is the baseline.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from citewise.settings import Settings


def run_permissions_benchmark(items: int = 10_000, *, log: Callable[[str], None] = print) -> dict:
    from citewise.connectors.sql import SqlConnector
    from citewise.ingest.pipeline import Ingestor

    root = Path(tempfile.mkdtemp(prefix="citewise-bench-acl-"))
    db = root / "source.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT, acl TEXT)")
        con.executemany(
            "INSERT INTO docs VALUES (?, ?, ?)",
            [(i, f"Record {i} describes policy {i % 97} for team {i % 13}.", "group:eng") for i in range(items)],
        )
    connector = {"url": f"sqlite:///{db}", "table": "docs", "text_columns": ["body"], "acl_column": "acl"}
    ingestor = Ingestor(Settings(data_dir=root / "data"))
    try:
        t0 = time.perf_counter()
        first = ingestor.sync(SqlConnector(**connector))
        index_s = time.perf_counter() - t0
        log(f"indexed {first.added} items ({first.chunks} chunks) in {index_s:.1f} s")
        with sqlite3.connect(db) as con:
            con.execute("UPDATE docs SET acl = 'group:hr user:ann@example.com'")
        t0 = time.perf_counter()
        changed = ingestor.sync(SqlConnector(**connector))
        acl_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        unchanged = ingestor.sync(SqlConnector(**connector))
        noop_s = time.perf_counter() - t0
        sample = next(iter(ingestor.store.scroll(limit=1)))
    finally:
        ingestor.close()
    result = {
        "items": items,
        "first_sync_s": round(index_s, 2),
        "acl_sync_s": round(acl_s, 2),
        "acl_items_per_s": round(items / acl_s, 1),
        "unchanged_sync_s": round(noop_s, 2),
        "acl_sync_vs_unchanged": round(acl_s / noop_s, 2),
        "permissions_updated": changed.permissions_updated,
        "embedded_in_acl_sync": changed.embedded,
        "chunks_in_acl_sync": changed.chunks,
        "unchanged_after": unchanged.unchanged,
        "sample_acl": sorted(sample.payload.acl),
    }
    log(
        f"ACL change on {items} items: {acl_s:.1f} s ({result['acl_items_per_s']} items/s), "
        f"{changed.embedded} embedded, {changed.chunks} chunks re-made; an unchanged sync takes {noop_s:.1f} s"
    )
    return result
