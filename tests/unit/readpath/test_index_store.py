"""The entity index's SQLite file: rows per (entity, release), releases replaced and dropped, failures kept across
restarts, and a file that is corrupt, of another schema or made for another Temporal rebuilt from nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from release_console.readpath.index_store import IndexedRelease, IndexStore


def rows(key: str, apps: int = 2, state: str = "pending") -> list[tuple]:
    release = f"release:{key}"
    out = [(release, None, "deploying", None), (f"wave:{key}-w", release, "pending", None),
           (f"cluster:{key}-c", f"wave:{key}-w", "pending", None),
           (f"bundle:{key}-b", f"cluster:{key}-c", "pending", None)]
    out += [(f"app:{key}-a{n}", f"bundle:{key}-b", state, None) for n in range(apps)]
    return out


def opened(path: Path, key: str = "here") -> tuple[IndexStore, dict[str, IndexedRelease]]:
    store = IndexStore(path, key)
    return store, store.open()


def test_put_and_lookup_with_interned_releases_and_states(tmp_path: Path) -> None:
    store, known = opened(tmp_path / "index.sqlite")
    assert known == {}
    one = store.put(IndexedRelease("release:r1", 1, indexed_at=10.0, final=True), [rows("r1")])
    two = store.put(IndexedRelease("release:r2", 2, indexed_at=11.0), [rows("r2")[:4], [("app:r1-a0", "bundle:r2-b",
                                                                                          "failed", None)]])
    assert (one.rid, one.entities, one.final) == (1, 5, True)  # wave, cluster, bundle, 2 apps: the release is no row
    assert sorted(store.holders("app:r1-a0")) == [(one.rid, "pending"), (two.rid, "failed")]
    assert store.holders("bundle:r2-b") == [(two.rid, "pending")]
    assert store.holders("cluster:r1-a0") == [] and store.holders("release:r1") == []  # the type is part of the key
    assert store.holders("app:nowhere") == []
    store.close()
    again, known = opened(tmp_path / "index.sqlite")
    assert {r.id: (r.rid, r.start_us, r.final, r.entities) for r in known.values()} == {
        "release:r1": (one.rid, 1, True, 5), "release:r2": (two.rid, 2, False, 4)}
    assert sorted(again.holders("app:r1-a0")) == [(one.rid, "pending"), (two.rid, "failed")]


def test_a_release_replaced_or_dropped_leaves_rows_until_compacted(tmp_path: Path) -> None:
    store, _ = opened(tmp_path / "index.sqlite")
    first = store.put(IndexedRelease("release:r1", 1, indexed_at=1.0), [rows("r1", apps=3)])
    second = store.put(IndexedRelease("release:r1", 2, indexed_at=2.0), [rows("r1", apps=1, state="deployed")])
    assert second.rid != first.rid and store.orphans == 6
    assert sorted(store.holders("app:r1-a0")) == [(first.rid, "pending"), (second.rid, "deployed")]
    assert store.compact() == 6 and store.orphans == 0
    assert store.holders("app:r1-a0") == [(second.rid, "deployed")] and store.holders("app:r1-a2") == []
    store.drop(["release:r1"])
    assert store.compact() == 4 and store.holders("app:r1-a0") == []
    store.close()
    assert opened(tmp_path / "index.sqlite")[1] == {}


def test_a_failure_is_kept_with_its_backoff_and_replaced_once_indexed(tmp_path: Path) -> None:
    store, _ = opened(tmp_path / "index.sqlite")
    failed = store.put_pending(IndexedRelease("release:bad", 5, attempts=2, retry_at=99.0, error="no worker"))
    store.close()
    store, known = opened(tmp_path / "index.sqlite")
    assert known["release:bad"] == IndexedRelease("release:bad", 5, failed.rid, attempts=2, retry_at=99.0,
                                                  error="no worker")
    fixed = store.put(IndexedRelease("release:bad", 5, indexed_at=3.0), [rows("bad")])
    assert store.holders("app:bad-a1") == [(fixed.rid, "pending")]
    store.close()
    assert opened(tmp_path / "index.sqlite")[1]["release:bad"].attempts == 0


def test_corrupt_file_other_key_or_other_schema_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    store, _ = opened(path)
    store.put(IndexedRelease("release:r1", 1, indexed_at=1.0), [rows("r1")])
    store.close()

    other, known = opened(path, key="another namespace")
    assert known == {} and other.holders("app:r1-a0") == []
    other.put(IndexedRelease("release:r1", 1, indexed_at=1.0), [rows("r1")])
    other.close()

    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    db.commit()
    db.close()
    assert opened(path, key="another namespace")[1] == {}

    path.write_bytes(b"this is not a database" * 1000)
    Path(f"{path}-wal").unlink(missing_ok=True)
    store, known = opened(path)
    assert known == {} and store.holders("app:r1-a0") == []
    store.put(IndexedRelease("release:r1", 1, indexed_at=1.0), [rows("r1")])
    assert len(store.holders("app:r1-a0")) == 1
    store.close()
