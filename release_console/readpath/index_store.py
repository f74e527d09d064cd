"""The entity index's file: which releases hold each entity, in SQLite under DATA_DIR (a cache, never a record).

Every method blocks: callers run them in a worker thread (see readpath/entity_index.py). One store has two
connections, one for writing and one for reading, each meant for one thread of its own; the file is in WAL mode,
so a lookup never waits for a release being written.

Rows: ``holdings(type, name, rid, sid)`` per (entity, release), ``type`` the entity's level (1 wave … 4 app),
``name`` its id without the type, ``rid`` the release's interned number (never reused: rows of a dropped release
may still be in the file), ``sid`` the interned state. Rows of a
release dropped (gone from visibility, or started again under the same id) stay until :meth:`IndexStore.compact`
removes them; lookups only return rows of releases still in ``releases``.

The file is rebuilt from nothing whenever it is unusable: missing, corrupt, of another schema version, or made for
another Temporal (address, namespace, workflow types: the ``key``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from ..domain.ids import EntityType
from ..domain.plan import StatedRow

SCHEMA_VERSION = 1
"""Stored in the file: a file of another version is deleted and rebuilt."""
CACHE_KIB = 8192
"""SQLite's page cache per connection (two connections: at most 16 MiB of cache in all)."""
TYPE_CODES: dict[str, int] = {t.value: t.level for t in EntityType if t is not EntityType.RELEASE}

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE releases (
    rid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, start_us INTEGER NOT NULL,
    indexed_at REAL, final INTEGER NOT NULL DEFAULT 0, entities INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, retry_at REAL, error TEXT);
CREATE TABLE states (sid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE holdings (type INTEGER NOT NULL, name TEXT NOT NULL, rid INTEGER NOT NULL, sid INTEGER NOT NULL,
    PRIMARY KEY (type, name, rid)) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class IndexedRelease:
    """One release as the index knows it: indexed (``indexed_at`` set), or not (yet): being read, or failed
    (``error`` set)."""

    id: str
    start_us: int
    """The run's start time in microseconds: a release id started again is a new release to index."""
    rid: int = 0
    indexed_at: float | None = None
    """When its snapshot was read (Unix time), None while it failed."""
    final: bool = False
    """The release was closed when indexed: its states are its final ones."""
    entities: int = 0
    attempts: int = 0
    """Reads started since the release was last indexed (an attempt counts from its start, so a console stopped
    while reading still backs off)."""
    retry_at: float | None = None
    """Unix time after which a release not indexed is read (again)."""
    error: str | None = None


class IndexStore:
    """The SQLite file of the entity index (blocking calls: run each in the store's own threads)."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self._write: sqlite3.Connection | None = None
        self._read: sqlite3.Connection | None = None
        self._states: dict[str, int] = {}
        self.orphans = 0
        """Rows of dropped releases still in the file (removed by :meth:`compact`)."""

    # ---- opening ------------------------------------------------------------------------------------
    def open(self) -> dict[str, IndexedRelease]:
        """Open (or rebuild) the file; the releases it knows. Call from the writer thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._open_existing()
        except sqlite3.DatabaseError as exc:
            logger.warning("entity index {} is unusable ({}); rebuilding it", self.path, exc)
        self.close()
        self.delete_files()
        return self._open_existing()

    def _open_existing(self) -> dict[str, IndexedRelease]:
        self._write = self._connect()
        if not self._meta_matches(self._write):
            self.close()
            self.delete_files()
            self._write = self._connect()
            self._write.executescript(_SCHEMA)
            self._write.executemany("INSERT INTO meta VALUES (?, ?)",
                                    [("schema", str(SCHEMA_VERSION)), ("key", self.key)])
            self._write.commit()
        self._states = dict(self._write.execute("SELECT name, sid FROM states"))
        releases = {row[1]: _release(row) for row in self._write.execute(
            "SELECT rid, id, start_us, indexed_at, final, entities, attempts, retry_at, error FROM releases")}
        self.orphans = 0
        self._read = None
        return releases

    def _meta_matches(self, db: sqlite3.Connection) -> bool:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            return False
        meta = dict(db.execute("SELECT key, value FROM meta"))
        return meta.get("schema") == str(SCHEMA_VERSION) and meta.get("key") == self.key

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = OFF")  # a cache: a crash at worst loses the last releases written
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        db.execute("PRAGMA busy_timeout = 2000")
        return db

    def delete_files(self) -> None:
        """Remove the file and its WAL companions."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        """Close both connections (call from the writer thread, after :meth:`close_reader` in the reader's)."""
        self.close_reader()
        if self._write is not None:
            self._write.close()
            self._write = None

    def close_reader(self) -> None:
        """Close the reading connection (from the reader thread); the next lookup opens it again."""
        if self._read is not None:
            self._read.close()
            self._read = None

    def size(self) -> int:
        """Bytes on disk (the file and its write-ahead log)."""
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += Path(f"{self.path}{suffix}").stat().st_size
        return total

    # ---- writing (writer thread) ------------------------------------------------------------------------
    def put(self, release: IndexedRelease, pages: Iterable[list[StatedRow]]) -> IndexedRelease:
        """Store a release's entities (checked snapshot rows ``(id, parent, state, updated_at)``) in one
        transaction, in place of whatever the file knew of that release id; the release with its new rid."""
        db = self._writer()
        db.execute("BEGIN")
        try:
            self._forget(db, release.id)
            rid = db.execute(
                "INSERT INTO releases (id, start_us, indexed_at, final, entities) VALUES (?, ?, ?, ?, 0)",
                (release.id, release.start_us, release.indexed_at, int(release.final))).lastrowid
            assert rid is not None
            count = 0

            def rows() -> Iterable[tuple[int, str, int, int]]:
                nonlocal count
                for page in pages:
                    for entity_id, _parent, state, _updated in page:
                        type_name, _, name = entity_id.partition(":")
                        code = TYPE_CODES.get(type_name)
                        if code is not None:
                            count += 1
                            yield code, name, rid, self._state_id(db, state)

            db.executemany("INSERT OR REPLACE INTO holdings VALUES (?, ?, ?, ?)", rows())
            db.execute("UPDATE releases SET entities = ? WHERE rid = ?", (count, rid))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._states = dict(db.execute("SELECT name, sid FROM states"))
            raise
        return IndexedRelease(release.id, release.start_us, rid, release.indexed_at, release.final, count)

    def put_pending(self, release: IndexedRelease) -> IndexedRelease:
        """Record a release not indexed: an attempt starting, or one that failed (``error``); kept across restarts,
        so its backoff is too. It takes the place of whatever the file knew of that release id."""
        db = self._writer()
        db.execute("BEGIN")
        try:
            self._forget(db, release.id)
            rid = db.execute(
                "INSERT INTO releases (id, start_us, attempts, retry_at, error) VALUES (?, ?, ?, ?, ?)",
                (release.id, release.start_us, release.attempts, release.retry_at, release.error)).lastrowid
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        assert rid is not None
        return IndexedRelease(release.id, release.start_us, rid, attempts=release.attempts,
                              retry_at=release.retry_at, error=release.error)

    def drop(self, release_ids: list[str]) -> None:
        """Forget releases (their rows stay until :meth:`compact`)."""
        db = self._writer()
        db.execute("BEGIN")
        for release_id in release_ids:
            self._forget(db, release_id)
        db.execute("COMMIT")

    def compact(self) -> int:
        """Delete the rows of forgotten releases (one pass over the file); how many were deleted."""
        db = self._writer()
        deleted = db.execute("DELETE FROM holdings WHERE rid NOT IN (SELECT rid FROM releases)").rowcount
        self.orphans = 0
        return deleted

    def _forget(self, db: sqlite3.Connection, release_id: str) -> None:
        row = db.execute("DELETE FROM releases WHERE id = ? RETURNING entities", (release_id,)).fetchone()
        if row is not None:
            self.orphans += row[0]

    def _state_id(self, db: sqlite3.Connection, state: str) -> int:
        sid = self._states.get(state)
        if sid is None:
            sid = db.execute("INSERT INTO states (name) VALUES (?)", (state,)).lastrowid
            assert sid is not None
            self._states[state] = sid
        return sid

    def _writer(self) -> sqlite3.Connection:
        if self._write is None:
            raise sqlite3.OperationalError("the entity index is not open")
        return self._write

    # ---- reading (reader thread) --------------------------------------------------------------------------
    def holders(self, entity_id: str) -> list[tuple[int, str]]:
        """``(rid, state)`` of every release row holding the entity (including rows of forgotten releases)."""
        type_name, _, name = entity_id.partition(":")
        code = TYPE_CODES.get(type_name)
        if code is None:
            return []
        if self._read is None:
            if self._write is None:
                raise sqlite3.OperationalError("the entity index is not open")
            self._read = self._connect()
        return self._read.execute(
            "SELECT h.rid, s.name FROM holdings h JOIN states s ON s.sid = h.sid WHERE h.type = ? AND h.name = ?",
            (code, name)).fetchall()


def _release(row: tuple[Any, ...]) -> IndexedRelease:  # Any: an SQLite row, its columns typed by the query
    rid, release_id, start_us, indexed_at, final, entities, attempts, retry_at, error = row
    return IndexedRelease(release_id, start_us, rid, indexed_at, bool(final), entities, attempts, retry_at, error)
