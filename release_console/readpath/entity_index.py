"""The entity index: which releases hold an entity, for every release in visibility.

Built in the background from each release's ``snapshot`` pages, newest releases first, at most
ENTITY_INDEX_QUERIES_PER_SECOND pages a second (all releases together) and INDEX_CONCURRENCY releases at a time,
and kept up to date by following the shared ReleaseList: a release is read once (a plan never gains or loses
entities, in any of its runs: continuing-as-new is no reason to read it again), and dropped when the list no longer
has it. A release id reused for another plan after its workflow closed is therefore not read again (noted in README).
A release that cannot be read (no worker, off-contract answers, too slow) is recorded as failed and read again
after a backoff (RETRY_FIRST_SECONDS doubling up to RETRY_MAX_SECONDS); it never holds up the others.

The index is kept in a SQLite file (readpath/index_store.py) that is only a cache: Temporal stays the record, and
the file is rebuilt whenever it is missing or unusable. Every SQLite call runs in one of the index's two threads
(one writes, one reads), never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from loguru import logger

from ..core.config import Settings
from ..core.tasks import cancel_and_wait
from ..domain.plan import StatedRow
from . import validation
from .errors import InvalidReleaseData, ReadPathError, TemporalUnavailable, WorkerNotResponding
from .gateway import TemporalGateway
from .index_store import IndexedRelease, IndexStore
from .release_list import ReleaseList, ReleaseListItem
from .stats import ReadPathStats

P = ParamSpec("P")
T = TypeVar("T")

INDEX_CONCURRENCY = 4
"""Releases read at once (their pages still share the one rate)."""
RELEASE_SECONDS = 300.0
"""A release whose snapshot queries take longer than this in all (waiting for the rate not counted) is marked
failed; each query is bounded by the gateway's own deadline."""
MAX_INDEXED_ENTITIES = 200_000
"""A release claiming more entities than this (a plan holds at most 120,000) is marked failed, never read."""
MIN_ROWS_PER_PAGE = 100
"""A release needing more pages than one per this many of its entities is marked failed (a page of the contract holds
up to 4,000 rows and at least ~600 of the longest)."""
RETRY_FIRST_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
UNAVAILABLE_PAUSE_SECONDS = 5.0
"""While Temporal itself is unreachable the index waits this long between attempts (nothing is marked failed)."""
COMPACT_MIN_ORPHANS = 100_000
"""Rows of dropped releases are deleted once there are this many and they are a quarter of the file's rows."""


@dataclass(frozen=True, slots=True)
class Holding:
    """One release holding an entity, with the entity's state when the release was indexed."""

    release_id: str
    state: str
    indexed_at: datetime
    final: bool
    """The release was closed when indexed: ``state`` is its final state."""


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """How far the index is: ``indexed`` of ``total`` listed releases, ``unreadable`` of them failed."""

    ready: bool
    indexed: int
    total: int
    unreadable: int
    reading: int
    queries: int
    query_failures: int
    entities: int
    file_bytes: int

    @property
    def complete(self) -> bool:
        """Every listed release is in the index (an unreadable one keeps it incomplete)."""
        return self.ready and self.indexed >= self.total


class EntityIndex:
    """Which releases hold an entity: built and followed in the background, read by :meth:`holders`."""

    def __init__(self, gateway: TemporalGateway, releases: ReleaseList, settings: Settings) -> None:
        self.gateway = TemporalGateway(gateway.client, settings, ReadPathStats(), gateway.health)
        """The index's own gateway (the same client and health signal): its queries are counted apart from the read
        path's, in ``self.gateway.stats``, so the read path's figures keep saying what reading costs."""
        self.releases = releases
        self.rate = settings.ENTITY_INDEX_QUERIES_PER_SECOND
        self.store = IndexStore(*index_file(settings))
        self.ready = False
        """The file is open and has been compared with the release list (lookups answer from it)."""
        self.queries = 0
        """Snapshot pages asked for since start."""
        self.query_failures = 0
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="entity-index-write")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="entity-index-read")
        self._known: dict[str, IndexedRelease] = {}
        self._by_rid: dict[int, IndexedRelease] = {}
        self._listed: set[str] = set()
        """The ids of every listed release, as of the last reconcile."""
        self._queue: deque[ReleaseListItem] = deque()
        self._reading: dict[str, asyncio.Task[None]] = {}
        self._indexed = self._unreadable = self._entities = 0
        self._next_retry = math.inf
        self._resume_at = 0.0
        self._next_query_at = 0.0
        self._dirty = True
        self._broken = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the file and follow the release list in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="entity index")
        if self._unsubscribe is None:
            self._unsubscribe = self.releases.add_listener(self._on_list)

    async def stop(self) -> None:
        """Stop reading releases and close the file."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel_and_wait(self._task, *self._reading.values())
        self._task = None
        self.ready = False
        with contextlib.suppress(Exception):
            await self._in(self._reader, self.store.close_reader)
            await self._in(self._writer, self.store.close)
        self._writer.shutdown(wait=False, cancel_futures=True)
        self._reader.shutdown(wait=False, cancel_futures=True)

    def _on_list(self, _releases: ReleaseList) -> None:
        self._dirty = True
        self._wake.set()

    # ---- reading ----------------------------------------------------------------------------------
    async def holders(self, entity_id: str) -> list[Holding]:
        """The indexed releases holding ``entity_id`` (a well-formed, non-release id); [] until the file is open."""
        if not self.ready:
            return []
        try:
            rows = await self._in(self._reader, self.store.holders, entity_id)
        except sqlite3.DatabaseError as exc:
            self._file_broken(exc)
            return []
        found: list[Holding] = []
        for rid, state in rows:
            release = self._by_rid.get(rid)
            if release is not None and release.indexed_at is not None:
                indexed_at = datetime.fromtimestamp(release.indexed_at, UTC)
                found.append(Holding(release.id, state, indexed_at, release.final))
        return found

    def progress(self) -> IndexProgress:
        """Figures for /stats and /metrics (no I/O but a stat of the file)."""
        return IndexProgress(
            ready=self.ready, indexed=self._indexed, total=len(self._listed), unreadable=self._unreadable,
            reading=len(self._reading), queries=self.queries, query_failures=self.query_failures,
            entities=self._entities, file_bytes=self.store.size(),
        )

    # ---- the loop ---------------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            await self._open()
        except (OSError, sqlite3.Error) as exc:
            logger.error("entity index {} cannot be opened ({}): lookups answer incomplete", self.store.path, exc)
            return
        with contextlib.suppress(Exception):
            await self.releases.ensure_fresh()
        while True:
            self._wake.clear()
            try:
                timeout = await self._step()
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception:
                logger.exception("entity index step failed; going on")
                timeout = UNAVAILABLE_PAUSE_SECONDS
            with contextlib.suppress(TimeoutError):  # asyncio.timeout, not wait_for: that may swallow a cancel
                async with asyncio.timeout(None if timeout is None else max(0.05, timeout)):
                    await self._wake.wait()

    async def _step(self) -> float | None:
        """Rebuild, reconcile and start reading as due; how long to wait at most before the next step."""
        if self._broken:
            await self._rebuild()
        if self._dirty or time.time() >= self._next_retry:
            self._dirty = False
            await self._reconcile()
        timeout = self._next_retry - time.time() if self._next_retry < math.inf else None
        paused = self._resume_at - time.monotonic()
        if paused > 0:
            return paused if timeout is None else min(timeout, paused)
        self._start_reading()
        return timeout

    async def _open(self) -> None:
        known = await self._in(self._writer, self.store.open)
        self._known = known
        self._by_rid = {r.rid: r for r in known.values()}
        self._entities = sum(r.entities for r in known.values())
        self._dirty = True

    async def _rebuild(self) -> None:
        """The file went bad while running: start over with a new one."""
        self._broken = False
        self.ready = False
        await cancel_and_wait(*self._reading.values())
        await self._in(self._reader, self.store.close_reader)
        await self._in(self._writer, self.store.close)
        await self._in(self._writer, self.store.delete_files)
        await self._open()

    def _file_broken(self, exc: Exception) -> None:
        if not self._broken:
            logger.warning("entity index {} failed ({}); rebuilding it", self.store.path, exc)
        self._broken = True
        self._wake.set()

    async def _reconcile(self) -> None:
        """Compare the index with the release list: what to read (newest first), what is done, what is gone."""
        items = self.releases.items
        if self.releases.as_of is None:
            return
        listed = {item.id for item in items}
        gone = [r for r in self._known.values() if r.id not in listed]
        for release in gone:
            self._forget(release)
        queue: deque[ReleaseListItem] = deque()
        indexed = unreadable = 0
        now, next_retry = time.time(), math.inf
        for item in items:
            known = self._known.get(item.id)
            if known is not None:  # one read per release id: its plan is the same in every run (continue-as-new)
                if known.indexed_at is not None:
                    indexed += 1
                    continue
                unreadable += known.error is not None
                if known.retry_at is not None and known.retry_at > now:
                    next_retry = min(next_retry, known.retry_at)
                    continue
            if item.id not in self._reading:
                queue.append(item)
        self._listed, self._queue = listed, queue
        self._indexed, self._unreadable, self._next_retry = indexed, unreadable, next_retry
        self.ready = True
        if gone:
            try:
                await self._in(self._writer, self.store.drop, [r.id for r in gone])
                if self.store.orphans >= max(COMPACT_MIN_ORPHANS, self._entities // 4):
                    await self._in(self._writer, self.store.compact)
            except sqlite3.DatabaseError as exc:
                self._file_broken(exc)

    def _start_reading(self) -> None:
        while len(self._reading) < INDEX_CONCURRENCY and self._queue:
            item = self._queue.popleft()
            if item.id not in self._reading:
                self._reading[item.id] = asyncio.create_task(self._index(item), name=f"index {item.id}")

    # ---- one release --------------------------------------------------------------------------------
    async def _index(self, item: ReleaseListItem) -> None:
        """Read one release into the index. The attempt is recorded before the first query, with the time of the
        next one: a release that hangs or fails, even in a console stopped meanwhile, backs off."""
        started = start_us(item)
        previous = self._known.get(item.id)
        attempts = 1
        if previous is not None and previous.indexed_at is None:
            attempts = previous.attempts + 1
        retry_at = time.time() + min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** (attempts - 1))
        try:
            try:
                self._remember(await self._in(self._writer, self.store.put_pending,
                                              IndexedRelease(item.id, started, attempts=attempts, retry_at=retry_at)))
                pages = await self._read(item.id)
                release = IndexedRelease(item.id, started, indexed_at=time.time(), final=item.status != "running")
                stored = await self._in(self._writer, self.store.put, release, pages)
            except ReadPathError as exc:
                if isinstance(exc, TemporalUnavailable) and await self._temporal_down():
                    self._resume_at = time.monotonic() + UNAVAILABLE_PAUSE_SECONDS
                    pending = IndexedRelease(item.id, started, attempts=attempts - 1,  # not the release's fault
                                             retry_at=time.time() + UNAVAILABLE_PAUSE_SECONDS)
                else:
                    if attempts == 1:
                        logger.warning("entity index: {} could not be read ({}); retrying later", item.id, exc)
                    pending = IndexedRelease(item.id, started, attempts=attempts, retry_at=retry_at,
                                             error=str(exc)[:300])
                stored = await self._in(self._writer, self.store.put_pending, pending)
        except sqlite3.DatabaseError as exc:
            self._file_broken(exc)
            return
        finally:
            self._reading.pop(item.id, None)
            self._wake.set()
        self._remember(stored)

    async def _temporal_down(self) -> bool:
        """Whether Temporal itself is unreachable now (a query can fail "unavailable" for one release alone)."""
        try:
            await self.gateway.check()
        except TemporalUnavailable:
            return True
        return False

    async def _read(self, release_id: str) -> list[list[StatedRow]]:
        """Every snapshot page of a release, checked (InvalidReleaseData when off the contract)."""
        checker = validation.SnapshotChecker(release_id)
        pages: list[list[StatedRow]] = []
        cursor: str | None = None
        total: int | None = None
        count = 0
        busy = 0.0
        while True:
            await self._pace()
            self.queries += 1
            asked = time.monotonic()
            try:
                page = await self.gateway.snapshot(release_id, cursor, origin="index")
            except ReadPathError:
                self.query_failures += 1
                raise
            if total is None:
                total = page.total
                if total > MAX_INDEXED_ENTITIES:
                    raise InvalidReleaseData(f"{release_id} claims {total} entities; at most "
                                             f"{MAX_INDEXED_ENTITIES} are indexed")
            elif page.total != total:
                raise InvalidReleaseData(f"{release_id} returned inconsistent snapshot pages")
            pages.append(await self._in(self._writer, _placed, checker, page.rows))
            count += len(page.rows)
            busy += time.monotonic() - asked
            if page.next_cursor is None or count > total:
                break
            if not page.rows or len(pages) > total // MIN_ROWS_PER_PAGE + 1:
                raise InvalidReleaseData(f"{release_id} returned {len(pages)} snapshot pages for {total} entities")
            if busy > RELEASE_SECONDS:
                raise WorkerNotResponding(f"{release_id}: its snapshot pages took over {RELEASE_SECONDS:g}s")
            cursor = page.next_cursor
        if count != total or not count:
            raise InvalidReleaseData(f"{release_id} returned {count} snapshot rows of {total}")
        return pages

    async def _pace(self) -> None:
        """Wait for this query's turn under ENTITY_INDEX_QUERIES_PER_SECOND (shared by every release read)."""
        now = time.monotonic()
        at = max(now, self._next_query_at)
        self._next_query_at = at + 1.0 / self.rate
        if at > now:
            await asyncio.sleep(at - now)

    def _remember(self, stored: IndexedRelease) -> None:
        """Take a release just written (indexed or failed) into the figures without a full reconcile."""
        previous = self._known.get(stored.id)
        if previous is not None:
            self._by_rid.pop(previous.rid, None)
            self._entities -= previous.entities
            if previous.id in self._listed:
                self._indexed -= previous.indexed_at is not None
                self._unreadable -= previous.error is not None
        self._known[stored.id] = stored
        self._by_rid[stored.rid] = stored
        self._entities += stored.entities
        if stored.id in self._listed:
            self._indexed += stored.indexed_at is not None
            self._unreadable += stored.error is not None
        if stored.retry_at is not None:
            self._next_retry = min(self._next_retry, stored.retry_at)

    def _forget(self, release: IndexedRelease) -> None:
        self._known.pop(release.id, None)
        self._by_rid.pop(release.rid, None)
        self._entities -= release.entities

    @staticmethod
    async def _in(executor: ThreadPoolExecutor, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor, lambda: call(*args, **kwargs))


def _placed(checker: validation.SnapshotChecker, rows: list[Any]) -> list[StatedRow]:  # Any: rows as sent
    """A page's rows as the index keeps them (run in a thread): those the checker could place, with the state
    ``unknown`` for a row off the contract (its entity is still in the release)."""
    unreadable = checker.unreadable
    return [(entity_id, parent, "unknown" if entity_id in unreadable or state is None else state, updated_at)
            for entity_id, parent, state, updated_at in checker.check(rows)]


def index_file(settings: Settings) -> tuple[Path, str]:
    """Where this console keeps its index, and the key the file must carry: the Temporal address, namespace and
    release workflow types (a console pointed elsewhere starts its own file) and, in the name only, the instance
    (instances sharing a DATA_DIR keep one file each)."""
    key = "|".join([settings.temporal_address, settings.TEMPORAL_NAMESPACE, *sorted(settings.release_workflow_types)])
    name = hashlib.sha256(f"{key}|{settings.instance_name}".encode()).hexdigest()[:16]
    return settings.DATA_DIR / f"entity-index-{name}.sqlite", key


def start_us(item: ReleaseListItem) -> int:
    """A listed release's start time in microseconds (0 when visibility has none)."""
    started = item.start_time
    return 0 if started is None else int(started.timestamp() * 1_000_000)
