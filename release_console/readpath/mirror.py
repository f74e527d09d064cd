"""One shared, in-memory mirror per watched release, kept fresh by a single background poller.

First load: ``snapshot`` pages, then ``changes`` since the first page's version to converge. Afterwards one
poller per release calls ``changes`` (``reload=True`` → load again). Readers — REST requests, UI clients, SSE
streams — only read the mirror, so N readers cost what one reader costs.

What a poller costs follows what changes. The shared release list names every mirrored release in its listing each
second (readpath/release_list.py) and hands the registry their rows: a row whose memo version (or
``ReleaseUpdatedAt``) moved past the mirror wakes its poller at once; a closed row ends the polling (one describe
confirms it, one last catch-up); a row of a run that continued-as-new only wakes the poller; a release missing from a
listing that asked for it is described once to see whether it was deleted. So a release that visibility follows and
that has been quiet for QUIET_AFTER_SECONDS is polled only every MIRROR_QUIET_POLL_SECONDS (a safety net for
visibility lag), and at MIRROR_POLL_SECONDS again from its first change. Workers that leave or come back change
nothing visibility sees, so per task queue one mirror, its sentinel, is polled at MIRROR_POLL_SECONDS even when quiet.
When no worker answers it, one more mirror of the queue (its witness) is asked at once: if no worker answers that
one either, every other mirror of the queue is stale at once and waits, without polling, until the sentinel answers
again; if the witness answers, the sentinel's own release is the trouble and the witness becomes the sentinel. A
mirror that found on its own that Temporal or a worker does not answer polls at MIRROR_POLL_SECONDS until it answers.
A release without the memo and search attributes (another team's workflow) is polled every MIRROR_POLL_SECONDS.
A closed release is loaded once (a query on a closed workflow replays its history) and never queried again. A release
found deleted gets status ``deleted``: its readers keep the last known state, and the registry drops it, so new
readers get ReleaseNotFound (404).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from loguru import logger

from ..contract.names import SA_UPDATED_AT
from ..contract.shapes import ChangesResult, JsonObject
from ..core.config import Settings
from ..core.listeners import Listeners
from ..core.tasks import cancel_and_wait
from ..domain.ids import EntityId, EntityType, InvalidEntityId
from ..domain.plan import EntityRow
from ..domain.tree import Change, Entity, ReleaseTree, last_updated
from . import validation
from .answer_cache import AnswerCache
from .errors import (
    EntityNotFound,
    InvalidReleaseData,
    InvalidReleaseId,
    ReadPathError,
    ReleaseNotFound,
    TemporalUnavailable,
    TooManyMirrors,
    WorkerNotResponding,
)
from .gateway import ReleaseDescription, TemporalGateway
from .health import TemporalHealth
from .quotas import UserQuotas
from .release_list import ReleaseList
from .timeline import TimelineFeed
from .visibility import ListedRelease

Listener = Callable[["ReleaseMirror", list[Change]], None]
LOAD_ATTEMPTS = 3
QUIET_AFTER_SECONDS = 10.0
"""A release visibility follows that changed nothing for this long is polled at MIRROR_QUIET_POLL_SECONDS."""
FOLLOWED_FOR_SECONDS = 5.0
"""A mirror counts as followed by the release list this long after its last row: if listings stop, polling is fast."""
EXISTENCE_CHECK_SECONDS = 5.0
"""A mirror missing from listings is described at most this often (a brand-new release may not be listed yet)."""
CHANGES_KEPT = 5000
MAX_UNREADABLE_ADDED = 10_000
"""Changes may add at most this many unlisted entities to a mirror (as unreadable nodes); past it the release is
reported broken rather than grown without end."""
FREEZE_ABOVE = 10_000
"""Trees of at least this many entities are kept out of the garbage collector's scans (see _build_tree)."""


class ReleaseMirror:
    """The console's copy of one release: tree, version, status and when it was last confirmed; and what its readers
    share besides: its serialized answers (``answers``) and its timeline reader (``timeline``), which live and go
    with it."""

    def __init__(self, release_id: str, gateway: TemporalGateway, settings: Settings) -> None:
        self.release_id = release_id
        self.gateway = gateway
        self.poll_seconds = settings.MIRROR_POLL_SECONDS
        self.quiet_poll_seconds = max(settings.MIRROR_QUIET_POLL_SECONDS, settings.MIRROR_POLL_SECONDS)
        self.tree: ReleaseTree = ReleaseTree([(release_id, None, "unknown", None)])
        self.as_of: datetime = datetime.now(UTC)
        self.status = "running"
        self.final_summary: JsonObject | None = None
        self.error: ReadPathError | None = None
        self.partial = False
        """True when only the memo summary could be served (closed release whose query failed)."""
        self.retired = False
        """True once the registry stopped this mirror (shutdown or idle): streams on it should end."""
        self.reloads = 0
        """How often the tree was replaced by a fresh copy while polling: readers that follow changes must re-read."""
        self.loaded_updated_at: str | None = None
        """Newest entity time of the last full load: the release's updated_at until a change is logged."""
        self.last_used = time.monotonic()
        self._listeners: Listeners[Listener] = Listeners(f"mirror {release_id}")
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_change = time.monotonic()
        self._followed_until = 0.0
        self.task_queue = ""
        """Its workflow's task queue, as the release list's rows name it ("" until a row did)."""
        self.sentinel = False
        """Polled at MIRROR_POLL_SECONDS even when quiet, for its task queue (chosen by the registry)."""
        self.held = False
        """Stale because its queue's sentinel and witness found no worker: it waits for the sentinel, not polling."""
        self.polled_at = 0.0
        """When its last poll ended (monotonic), answered or not."""
        self._closing = False
        """Set when the release list saw the workflow closed, until the poller has confirmed it."""
        self._existence: asyncio.Task[None] | None = None
        self._existence_checked_at = 0.0
        self._status_changed = False
        """Set by a poll that changed status or reloaded: listeners hear ``[]`` after the poll's changes."""
        self.answers = AnswerCache(self)
        """Serialized answers for the current version, shared by every reader (emptied when retired)."""
        self._timeline: TimelineFeed | None = None

    # ---- reading --------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """The workflow state version this mirror reflects."""
        return self.tree.version

    @property
    def updated_at(self) -> str | None:
        """Time of the newest transition this mirror knows of (also right after a load, when the log is empty)."""
        return last_updated(self.tree, self.loaded_updated_at)

    @property
    def closed(self) -> bool:
        """True once the workflow is closed (no more polling)."""
        return self.status != "running"

    @property
    def deleted(self) -> bool:
        """True once Temporal no longer has the workflow (deleted, or removed by retention)."""
        return self.status == "deleted"

    @property
    def stale(self) -> bool:
        """True when the latest attempt to confirm the data with Temporal failed."""
        return self.error is not None

    @property
    def timeline(self) -> TimelineFeed:
        """The release's one shared timeline reader (made on first use; stopped when the mirror is retired)."""
        if self._timeline is None:
            self._timeline = TimelineFeed(self)
        return self._timeline

    def entity(self, entity_id: str) -> Entity:
        """The entity in this release, else EntityNotFound (404 ``entity_not_found``) naming both."""
        entity = self.tree.entities.get(entity_id)
        if entity is None:
            raise EntityNotFound(f"entity {entity_id} not found in {self.release_id}")
        return entity

    @property
    def listener_count(self) -> int:
        """Number of live subscribers (UI clients, SSE streams)."""
        return len(self._listeners)

    def touch(self) -> None:
        """Mark the mirror as in use (keeps it from being stopped as idle)."""
        self.last_used = time.monotonic()

    def add_listener(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(mirror, changes)`` after each applied poll; returns a function that unsubscribes."""
        unsubscribe = self._listeners.add(callback)
        self.touch()

        def remove() -> None:
            unsubscribe()
            self.touch()

        return remove

    async def wait_for_version(self, after: int, timeout: float) -> int:
        """Wait until the version exceeds ``after`` (or ``timeout`` passes); return the current version."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.version <= after:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.version

    # ---- lifecycle --------------------------------------------------------------------------------
    async def load(self) -> None:
        """Describe and fully load the release; raise ReadPathError when nothing can be served."""
        description = await self.gateway.describe(self.release_id)
        self._take_description(description)
        try:
            await self._load_tree()
        except ReadPathError as exc:
            if not (self.closed and self._load_from_memo(description.memo_summary)):
                raise
            self.error = exc
            logger.warning("{} is {}; query failed, serving its memo summary: {}", self.release_id, self.status, exc)
        self.as_of = datetime.now(UTC)

    def start_polling(self) -> None:
        """Start the one background poller (none for a closed release: it no longer changes)."""
        if self._task is None and not self.closed:
            self._task = asyncio.create_task(self._poll_loop(), name=f"mirror {self.release_id}")

    def wake(self) -> None:
        """Poll now instead of at the end of the current interval (e.g. Temporal is reachable again)."""
        self._wake.set()

    def observe(self, row: ListedRelease) -> None:
        """The release list's row of this release: wake the poller if it moved past this mirror or closed."""
        if self.closed:
            return
        self.task_queue = row.task_queue or self.task_queue
        if row.status == "continued_as_new":
            self.wake()  # the next run is not listed yet: the poll follows the workflow id to it
            return
        if row.status != "running":
            self._closing = True
            self.wake()
            return
        version = (row.memo_summary or {}).get("version")
        stamp = row.search_attributes.get(SA_UPDATED_AT)
        if version is None and stamp is None:
            return  # nothing to follow it by: plain polling
        self._followed_until = time.monotonic() + FOLLOWED_FOR_SECONDS
        if version is not None:
            newer = version > self.version
        elif stamp is not None:
            newer = _newer(stamp, self.updated_at)
        else:
            return  # unreachable: nothing to follow it by was handled above
        if newer:
            self._last_change = time.monotonic()
            self.wake()

    def missing_from_listing(self) -> None:
        """A listing that named this release did not find it: describe it (now and then) to see if it was deleted."""
        now = time.monotonic()
        if self.deleted or now - self._existence_checked_at < EXISTENCE_CHECK_SECONDS:
            return
        if self._existence is None or self._existence.done():
            self._existence_checked_at = now
            self._existence = asyncio.create_task(self.check_exists(), name=f"exists {self.release_id}")

    def mark_unavailable(self, error: ReadPathError) -> None:
        """Temporal went down: report the data as stale now, without waiting for the next poll to fail."""
        if not self.closed:
            self._set_error(error)

    def hold(self, error: WorkerNotResponding) -> None:
        """Its task queue has no worker answering: stale now, and no polls until :meth:`resume`."""
        if not self.closed:
            self.held = True
            self._set_error(error)

    def resume(self) -> None:
        """Its task queue's workers answer again: poll now."""
        if self.held:
            self.held = False
            self.wake()

    async def stop(self) -> None:
        """Stop polling; the data stays readable."""
        await cancel_and_wait(self._task, self._existence)
        self._task = self._existence = None

    async def retire(self) -> None:
        """Stop for good (registry shutdown or idle): listeners hear ``[]`` once more and see ``retired``; the kept
        answers are dropped and the timeline reader stops following."""
        self.retired = True
        await self.stop()
        self.answers.clear()
        if self._timeline is not None:
            await self._timeline.stop()
        self._notify([])

    # ---- loading ----------------------------------------------------------------------------------
    async def _load_tree(self, origin: str = "load") -> None:
        for _attempt in range(LOAD_ATTEMPTS):
            tree = await self._snapshot_tree()
            if await self._catch_up(tree, origin=origin) is not None:
                self._take_tree(tree)
                self.partial = False
                return
        raise InvalidReleaseData(f"{self.release_id} changed too fast to load a consistent copy; retry")

    async def _snapshot_tree(self) -> ReleaseTree:
        """All snapshot pages, each checked in a thread while the next one is fetched; the tree built in a thread.

        Only I/O and small envelope checks run on the event loop, so loading a 100,000-entity release never holds it.
        """
        checker = validation.SnapshotChecker(self.release_id)
        first = page = await self.gateway.snapshot(self.release_id, None)
        pages: list[list[Any]] = []  # Any: rows as the workflow sent them, checked in a thread
        checks: list[asyncio.Task[list[EntityRow]]] = []
        checked: asyncio.Task[list[EntityRow]] | None = None
        try:
            while True:
                pages.append(page.rows)
                checked = asyncio.create_task(_check_after(checked, checker, page.rows))
                checks.append(checked)
                if page.next_cursor is None or (checked.done() and checked.exception() is not None):
                    break
                page = await self.gateway.snapshot(self.release_id, page.next_cursor)
                if page.total != first.total or page.version < first.version:
                    raise InvalidReleaseData(f"{self.release_id} returned inconsistent snapshot pages")
            await checked
        finally:
            if checked is not None and not checked.done():
                checked.cancel()
        count = sum(len(rows) for rows in pages)
        if count != first.total or not count:
            raise InvalidReleaseData(f"{self.release_id} returned {count} snapshot rows of {first.total}")
        placed = [check.result() for check in checks]
        tree = await asyncio.to_thread(_build_tree, placed, first.version, checker)
        tree.log_floor = first.version
        return tree

    async def _catch_up(self, tree: ReleaseTree, *, origin: str) -> list[Change] | None:
        """Apply every change after the tree's version; None when the workflow says reload."""
        applied: list[Change] = []
        while True:
            result = await self.gateway.changes(self.release_id, tree.version, origin=origin)
            if result.reload:
                return None
            applied.extend(self._apply(tree, result))
            if not result.more:
                return applied

    def _apply(self, tree: ReleaseTree, result: ChangesResult) -> list[Change]:
        """Apply a ``changes`` result to the tree; the contract's ChangeViews become domain Changes here.

        A change of an entity the snapshot did not list adds that entity, unreadable, under the release (its change
        is still logged, so versions and event streams go on)."""
        for change in result.changes:
            if change.id not in tree.entities:
                if tree.unreadable >= MAX_UNREADABLE_ADDED:
                    raise InvalidReleaseData(f"{self.release_id} keeps reporting changes of entities its snapshot does "
                                             f"not list ({MAX_UNREADABLE_ADDED} and more)")
                tree.add_unreadable(change.id, "a change named it, but the release's snapshot does not list it")
        changes = [Change(c.version, c.id, c.state, c.updated_at) for c in result.changes]
        tree.replay(changes, result.version)
        return changes

    def _load_from_memo(self, memo: JsonObject | None) -> bool:
        """Serve the release node alone, with the memo's rollups; False when the memo is unusable."""
        if not memo or not isinstance(memo.get("state"), str) or not isinstance(memo.get("version", 0), int):
            return False
        counts = memo.get("counts") or {}
        if not _valid_counts(counts):
            return False
        tree = ReleaseTree([(self.release_id, None, memo["state"], _str_or_none(memo.get("updated_at")))])
        tree.version = tree.log_floor = memo.get("version", 0)
        tree.root.counts = {t: dict(s) for t, s in counts.items()}
        self._take_tree(tree)
        self.partial = True
        return True

    def _take_tree(self, tree: ReleaseTree) -> None:
        """Adopt a freshly loaded tree and remember its newest entity time (computed once per load)."""
        self.tree = tree
        self.loaded_updated_at = max((e.updated_at for e in tree.entities.values() if e.updated_at), default=None)

    def _take_description(self, description: ReleaseDescription) -> None:
        self.status = description.status
        self.final_summary = description.memo_summary if description.closed else None

    # ---- polling ----------------------------------------------------------------------------------
    async def _poll_loop(self) -> None:
        while not self.closed:
            await self._sleep(self._poll_interval())
            try:
                changes = await self.poll_once()
            except asyncio.CancelledError:
                raise
            except ReleaseNotFound:  # a poll's query found no workflow: it was deleted
                self._mark_deleted()
            except ReadPathError as exc:
                self._set_error(exc)
            except Exception as exc:
                logger.exception("mirror {} poll failed", self.release_id)
                self._set_error(InvalidReleaseData(f"{self.release_id}: unexpected {type(exc).__name__} while polling"))
            else:
                self.as_of = datetime.now(UTC)
                recovered = self.error is not None
                self.error = None
                if changes:
                    self._last_change = time.monotonic()
                if changes or recovered:
                    self._notify(changes)
            self.polled_at = time.monotonic()
            if self.error is None:
                self.held = False
            if self._status_changed:
                self._status_changed = False
                self._notify([])

    def _poll_interval(self) -> float:
        """MIRROR_POLL_SECONDS, or MIRROR_QUIET_POLL_SECONDS for a quiet release the release list follows. A sentinel
        and a mirror that found that Temporal or a worker does not answer poll at MIRROR_POLL_SECONDS (nothing else
        tells them that it answers again); a held mirror waits for its sentinel."""
        now = time.monotonic()
        quiet = now < self._followed_until and now - self._last_change >= QUIET_AFTER_SECONDS
        unanswered = isinstance(self.error, WorkerNotResponding | TemporalUnavailable) and not self.held
        if quiet and not self.sentinel and not unanswered:
            return self.quiet_poll_seconds
        return self.poll_seconds

    async def check_exists(self) -> None:
        """Describe the release once; mark it deleted when Temporal no longer has it (other errors are ignored:
        the next poll or listing will tell)."""
        try:
            await self.gateway.describe(self.release_id, origin="recheck")
        except ReleaseNotFound:
            self._mark_deleted()
        except ReadPathError as exc:
            logger.debug("checking that {} exists failed: {}", self.release_id, exc)

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when woken (a wake during the previous poll counts too)."""
        if not self._wake.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def _mark_deleted(self) -> None:
        if self.deleted:
            return
        logger.warning("{} no longer exists in Temporal; its readers keep the last known state", self.release_id)
        self.status = "deleted"
        self.error = None
        self._status_changed = False
        self._notify([])

    async def poll_once(self) -> list[Change]:
        """One poll: changes (or a reload); once the release list saw the workflow closed, its last changes."""
        if self._closing:
            return await self._close()
        applied = await self._catch_up(self.tree, origin="poll")
        if applied is None:
            await self._reload()
            self._status_changed = True
            return []
        return applied

    async def _reload(self) -> None:
        """A fresh copy (the change log moved past this mirror's version); InvalidReleaseData if none is consistent,
        so the mirror is reported stale instead of claiming an old tree as confirmed."""
        await self._load_tree(origin="poll")
        self.reloads += 1

    async def _close(self) -> list[Change]:
        """The list saw a closed run: one describe confirms that the latest run is closed (a reset or a new run may
        have followed it); then everything it recorded happened before, so one last catch-up, and polling stops."""
        description = await self.gateway.describe(self.release_id, origin="poll")  # failing: the next poll retries
        self._closing = False
        if not description.closed:
            return []  # a newer run is running: the next poll follows it
        last: list[Change] = []
        with contextlib.suppress(ReadPathError):
            last = await self._catch_up(self.tree, origin="poll") or []
        self._take_description(description)
        self._status_changed = True
        return last

    def _set_error(self, exc: ReadPathError) -> None:
        first = self.error is None
        self.error = exc
        if first:
            logger.warning("mirror {} is stale: {}", self.release_id, exc)
            self._notify([])

    def _notify(self, changes: list[Change]) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
        self._listeners.notify(self, changes)


async def _check_after(
    previous: asyncio.Task[list[EntityRow]] | None,
    checker: validation.SnapshotChecker,
    rows: list[Any],  # Any: a page's rows as the workflow sent them, checked here
) -> list[EntityRow]:
    """Check one page's rows in a thread, after the pages before it (the checker reads them in order); returns the
    rows as they go into the tree."""
    if previous is not None:
        await previous
    return await asyncio.to_thread(checker.check, rows)


def _build_tree(pages: list[list[EntityRow]], version: int, checker: validation.SnapshotChecker) -> ReleaseTree:
    """A mirror's tree from checked snapshot pages (run in a thread: it takes ~0.3 s for 100,000 entities).

    A large tree is then frozen out of the cyclic garbage collector (``gc.freeze``): its entities hold no reference
    cycles (ids, not objects, link them) and are freed by reference counting when the mirror lets go of the tree,
    but every full collection would otherwise walk all of them while holding the event loop (~65-135 ms per
    100,000 entities, several times a minute under load). The price: cyclic garbage that exists at that moment
    (little, right after a load) is never collected.
    """
    import gc  # only here: the one place the read path touches the collector

    rows = (row for page in pages for row in page)
    tree = ReleaseTree(rows, version=version, changes_kept=CHANGES_KEPT, unreadable=checker.unreadable)
    tree.unplaced = checker.unplaced
    for problem in checker.problems:
        tree.note_problem(problem)
    if len(tree.entities) >= FREEZE_ABOVE:
        gc.freeze()
    return tree


def _valid_counts(counts: object) -> bool:
    return isinstance(counts, dict) and all(
        isinstance(t, str) and isinstance(s, dict) and all(isinstance(k, str) and type(n) is int for k, n in s.items())
        for t, s in counts.items()
    )


def _newer(stamp: datetime, updated_at: str | None) -> bool:
    """Whether a ``ReleaseUpdatedAt`` value is later than a mirror's newest transition time."""
    if updated_at is None:
        return True
    try:
        known = datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    if known.tzinfo is None:
        known = known.replace(tzinfo=UTC)
    return stamp > known


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


EVICT_GRACE_SECONDS = 10.0
"""A mirror handed to a reader this recently is not evicted (its reader may be about to listen)."""


class MirrorRegistry:
    """One mirror per release, created on first use and shared by every reader; idle mirrors are stopped."""

    def __init__(self, gateway: TemporalGateway, settings: Settings, releases: ReleaseList) -> None:
        self.gateway = gateway
        self.settings = settings
        self.releases = releases
        """The shared release list: its listings tell mirrors that their release moved, closed or is gone."""
        self.idle_seconds = settings.MIRROR_IDLE_SECONDS
        self.failure_ttl = max(1.0, settings.MIRROR_POLL_SECONDS)
        self._mirrors: dict[str, ReleaseMirror] = {}
        self._loading: dict[str, asyncio.Task[ReleaseMirror]] = {}
        self._failures: dict[str, tuple[float, ReadPathError]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._queues_down: set[str] = set()
        """Task queues whose sentinel and witness no worker answered (their other mirrors are held)."""
        self._witnesses: dict[str, tuple[ReleaseMirror, float]] = {}
        """Per task queue whose sentinel no worker answered: the mirror asked for a second opinion, and when."""
        self.quotas = UserQuotas(settings)
        """What one user may make the console spend (new mirrors, lookups, streams)."""
        self.max_mirrors = settings.MAX_MIRRORS
        self.evict_grace = EVICT_GRACE_SECONDS
        self._retiring: set[asyncio.Task[None]] = set()
        self.evicted = 0
        """Unwatched mirrors stopped early to make room under MAX_MIRRORS."""

    def start(self) -> None:
        """Start the idle reaper, follow the health signal and the release list's listings."""
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_loop(), name="mirror reaper")
        if not self._unsubscribe:
            self._unsubscribe.append(self.releases.follow(self.watched_ids, self._on_listed))
            if self.gateway.health is not None:
                self._unsubscribe.append(self.gateway.health.add_listener(self._on_health))

    def watched_ids(self) -> list[str]:
        """The releases mirrored here, most recently used first (the release list names them in its listings)."""
        mirrors = sorted(self._mirrors.values(), key=lambda m: m.last_used, reverse=True)
        return [m.release_id for m in mirrors if not m.deleted]

    def _on_listed(self, rows: Mapping[str, ListedRelease], asked: Collection[str] | None) -> None:
        """A listing: each mirror takes its row; one the listing asked for but did not find may have been deleted."""
        named = None if asked is None else set(asked)
        for mirror in list(self._mirrors.values()):
            row = rows.get(mirror.release_id)
            if row is not None:
                mirror.observe(row)
            elif named is None or mirror.release_id in named:
                mirror.missing_from_listing()
        self._watch_task_queues()

    def _watch_task_queues(self) -> None:
        """Per task queue: keep one sentinel among its running mirrors; when no worker answers it, ask a witness;
        when no worker answers that one either, hold the queue's other mirrors until the sentinel answers again."""
        by_queue: dict[str, list[ReleaseMirror]] = {}
        for mirror in self._mirrors.values():
            if mirror.task_queue and not mirror.closed:
                by_queue.setdefault(mirror.task_queue, []).append(mirror)
            else:
                mirror.sentinel = False
        for queue, mirrors in by_queue.items():
            sentinel = self._sentinel(mirrors)
            answered = not isinstance(sentinel.error, WorkerNotResponding)
            if queue in self._queues_down:
                if answered:
                    self._queues_down.discard(queue)
                    for mirror in mirrors:
                        mirror.resume()
            elif answered:
                self._witnesses.pop(queue, None)
            else:
                self._second_opinion(queue, sentinel, [m for m in mirrors if m is not sentinel])
        self._queues_down &= by_queue.keys()
        self._witnesses = {q: w for q, w in self._witnesses.items() if q in by_queue}

    @staticmethod
    def _sentinel(mirrors: list[ReleaseMirror]) -> ReleaseMirror:
        """The queue's one sentinel: the current one, or else the most recently used mirror (woken, so that its
        first fast poll does not wait for the end of a quiet one)."""
        current = [m for m in mirrors if m.sentinel]
        if current:
            for extra in current[1:]:  # a run continued-as-new onto this queue brought its own
                extra.sentinel = False
            return current[0]
        chosen = max(mirrors, key=lambda m: m.last_used)
        chosen.sentinel = True
        chosen.wake()
        return chosen

    def _second_opinion(self, queue: str, sentinel: ReleaseMirror, others: list[ReleaseMirror]) -> None:
        """No worker answered the sentinel: ask a witness once; no answer there either means the queue has no
        worker (hold the others), an answer means the sentinel's own release is the trouble (replace it)."""
        if not others:
            self._queues_down.add(queue)  # nothing else to tell
            return
        asked = self._witnesses.get(queue)
        if asked is None or asked[0] not in others:
            witness = max(others, key=lambda m: m.last_used)
            self._witnesses[queue] = (witness, time.monotonic())
            witness.wake()
            return
        witness, asked_at = asked
        if witness.polled_at < asked_at:
            return  # its answer is not in yet
        del self._witnesses[queue]
        if isinstance(witness.error, WorkerNotResponding):
            self._queues_down.add(queue)
            gone = WorkerNotResponding(f"no worker answered queries on task queue {queue} in time")
            for mirror in others:
                if mirror.error is None:
                    mirror.hold(gone)
        elif witness.error is None:
            sentinel.sentinel = False
            witness.sentinel = True

    def _on_health(self, health: TemporalHealth) -> None:
        """Temporal went down: every mirror is stale now. It came back: every poller polls now, and loads that
        failed because of the outage are no longer remembered."""
        if health.up:
            self._failures = {k: v for k, v in self._failures.items() if v[1].status != 503}
            for mirror in self._mirrors.values():
                mirror.wake()
        else:
            error = health.unavailable()
            for mirror in self._mirrors.values():
                mirror.mark_unavailable(error)

    async def stop(self) -> None:
        """Stop the reaper, every load in flight and every poller."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        await cancel_and_wait(self._reaper, *self._loading.values())
        self._reaper = None
        for mirror in list(self._mirrors.values()):
            await mirror.retire()
        self._mirrors.clear()

    @property
    def mirrors(self) -> list[ReleaseMirror]:
        """The mirrors currently kept (not those of releases found deleted)."""
        return [m for m in self._mirrors.values() if not m.deleted]

    def peek(self, release_id: str) -> ReleaseMirror | None:
        """The mirror if already loaded (no Temporal call); None once its release was found deleted."""
        mirror = self._mirrors.get(release_id)
        if mirror is not None and mirror.deleted:
            self._drop_deleted(mirror)
            return None
        return mirror

    def _drop_deleted(self, mirror: ReleaseMirror) -> ReleaseNotFound:
        """Forget a mirror whose workflow no longer exists (its current readers keep it); remember the 404 briefly."""
        error = ReleaseNotFound(f"release {mirror.release_id} not found (it no longer exists in Temporal)")
        if self._mirrors.get(mirror.release_id) is mirror:
            del self._mirrors[mirror.release_id]
            self._failures[mirror.release_id] = (time.monotonic() + self.failure_ttl, error)
        return error

    async def get(self, release_id: str, *, user: str | None = None) -> ReleaseMirror:
        """The shared mirror of a release, loading it once for all concurrent callers; raises ReadPathError.

        A malformed id raises InvalidReleaseId (422) before any Temporal call. A new mirror is charged to ``user``
        (QuotaExceeded past USER_NEW_MIRRORS_PER_MINUTE) and needs room under MAX_MIRRORS (TooManyMirrors when
        every mirror is watched).
        """
        try:
            EntityId.parse(release_id, expected=EntityType.RELEASE)
        except InvalidEntityId as exc:
            raise InvalidReleaseId(str(exc)) from None
        mirror = self._mirrors.get(release_id)
        if mirror is not None:
            if mirror.deleted:
                raise self._drop_deleted(mirror)
            mirror.touch()
            return mirror
        failure = self._failures.get(release_id)
        if failure is not None:
            if failure[0] > time.monotonic():
                raise failure[1]
            del self._failures[release_id]
        task = self._loading.get(release_id)
        if task is None:
            if user is not None:
                self.quotas.charge("new_mirror", user)
            try:
                self._make_room()  # no await from here to the load task: the count stays exact under a burst
                return await self._start_load(release_id)
            except ReadPathError:
                if user is not None:
                    self.quotas.refund("new_mirror", user)  # a release that could not be opened costs nothing
                raise
        return await asyncio.shield(task)

    async def _start_load(self, release_id: str) -> ReleaseMirror:
        task = self._loading.get(release_id)
        if task is None:
            task = asyncio.create_task(self._load(release_id), name=f"load {release_id}")
            self._loading[release_id] = task
        return await asyncio.shield(task)

    def _make_room(self) -> None:
        """Below MAX_MIRRORS, or stop the least recently used mirror nobody listens to (and nobody was handed in
        the last EVICT_GRACE_SECONDS); TooManyMirrors if there is none. Synchronous: no caller slips in between."""
        if len(self._mirrors) + len(self._loading) < self.max_mirrors:
            return
        now = time.monotonic()
        unwatched = [m for m in self._mirrors.values()
                     if m.listener_count == 0 and now - m.last_used >= self.evict_grace]
        if not unwatched:
            raise TooManyMirrors(
                f"this console already follows {self.max_mirrors} releases, all of them in use right now "
                "(MAX_MIRRORS); try again shortly", retry_after=10)
        oldest = min(unwatched, key=lambda m: m.last_used)
        del self._mirrors[oldest.release_id]
        self.evicted += 1
        logger.info("mirror {} stopped to make room (MAX_MIRRORS={})", oldest.release_id, self.max_mirrors)
        self._retiring.add(asyncio.create_task(self._retire(oldest), name=f"retire {oldest.release_id}"))

    async def _retire(self, mirror: ReleaseMirror) -> None:
        try:
            await mirror.retire()
        finally:
            self.gateway.stats.forget(mirror.release_id)
            self._retiring.discard(asyncio.current_task())

    async def _load(self, release_id: str) -> ReleaseMirror:
        try:
            mirror = ReleaseMirror(release_id, self.gateway, self.settings)
            await mirror.load()
        except ReadPathError as exc:
            # Remember the failure briefly so a crowd of readers does not turn into a crowd of calls.
            self._failures[release_id] = (time.monotonic() + self.failure_ttl, exc)
            raise
        except Exception as exc:
            logger.exception("loading {} failed", release_id)
            error = InvalidReleaseData(f"{release_id} could not be loaded ({type(exc).__name__})")
            self._failures[release_id] = (time.monotonic() + self.failure_ttl, error)
            raise error from None
        finally:
            self._loading.pop(release_id, None)
        self._mirrors[release_id] = mirror
        mirror.start_polling()
        return mirror

    async def _reap_loop(self) -> None:
        interval = min(5.0, max(0.5, self.idle_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            await self.reap()

    async def reap(self) -> None:
        """Stop and forget mirrors nobody used for MIRROR_IDLE_SECONDS and nobody listens to."""
        now = time.monotonic()
        for release_id, mirror in list(self._mirrors.items()):
            if mirror.deleted:
                self._drop_deleted(mirror)
            elif mirror.listener_count == 0 and now - mirror.last_used > self.idle_seconds:
                del self._mirrors[release_id]
                await mirror.retire()
                self.gateway.stats.forget(release_id)
                logger.debug("mirror {} stopped after {:.0f}s idle", release_id, now - mirror.last_used)
        for release_id, (until, _error) in list(self._failures.items()):
            if until <= now:
                del self._failures[release_id]
                if release_id not in self._mirrors and release_id not in self._loading:
                    self.gateway.stats.forget(release_id)
