"""The release list: one shared list from Temporal visibility (search attributes + memo), kept up to date incrementally.

Never one query per release. Every RELEASE_LIST_REFRESH_SECONDS (RELEASE_LIST_WATCHED_REFRESH_SECONDS while this
console mirrors releases) one visibility call lists only what moved since the last listing (started, closed, or
``ReleaseUpdatedAt`` newer; looking LAG_MARGIN further back for visibility's lag) plus the rows of the releases the
console mirrors (so their mirrors learn from it that they moved, closed or were deleted); every
RELEASE_LIST_FULL_SECONDS a full listing notices deletions elsewhere. At rest that is one small call a second,
whatever the fleet's size. It follows the health signal: stale as soon as Temporal is unreachable, refreshed at once
when it answers again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from loguru import logger

from ..contract.names import SA_APPS_TOTAL, SA_PROGRESS, SA_STATE, SA_UPDATED_AT
from ..contract.shapes import JsonObject
from ..core.config import Settings
from ..core.listeners import Listeners
from ..core.tasks import cancel_and_wait
from ..domain.ids import EntityId, EntityType, InvalidEntityId
from ..domain.tree import Counts, percent
from ..domain.workflow_status import status_matches
from .errors import ListQueryRefused, ReadPathError
from .gateway import TemporalGateway
from .health import TemporalHealth
from .summaries import SummaryStates
from .visibility import ListedRelease

ListListener = Callable[["ReleaseList"], None]
RowsListener = Callable[[Mapping[str, ListedRelease], Collection[str] | None], None]
"""Called after each listing with the rows of the watched releases it asked for (or, after a full listing, every
row) and the ids it asked for (None: a full listing, every release was asked for)."""
SERVE_DUE_INTERVALS = 3
SERVE_DUE_MIN_SECONDS = 10.0
"""A list refreshed less than max(3 intervals, 10 s) ago is answered without waiting for the next refresh."""
LAG_MARGIN = timedelta(seconds=30)
"""An incremental listing looks this far back before the previous one: visibility is eventually consistent."""
MAX_WATCHED_PER_LISTING = 500
"""At most this many watched releases are named in one listing (MAX_MIRRORS is 500 by default); the rest get their
rows when they move or close, like any release, and describe themselves when missing only at full listings."""
FULL_AFTER_GAP = timedelta(minutes=2)
"""After this long without a successful listing (an outage), the next one is a full one rather than a huge increment."""
GONE_AFTER_MISSES = 3
"""A listed release that listings naming it no longer find this many times in a row leaves the list."""
SUMMARY_APPLY_SECONDS = 0.5
"""``summary`` answers are folded into the list together, at most this often."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ReleaseListItem:
    """One release as the list shows it."""

    id: str
    state: str
    status: str
    updated_at: str | None
    counts: Counts = field(default_factory=dict)
    apps_total: int = 0
    apps_done: int = 0
    progress: int = 0
    version: int | None = None
    start_time: datetime | None = None
    close_time: datetime | None = None
    workflow_type: str = ""
    """The release's workflow type (one of RELEASE_WORKFLOW_TYPES)."""
    sort_key: tuple[int, str] = field(init=False, compare=False, repr=False)
    """Newest first: start time (µs), then id."""

    def __post_init__(self) -> None:
        started = self.start_time or _EPOCH
        object.__setattr__(self, "sort_key", (int((started - _EPOCH).total_seconds() * 1_000_000), self.id))


def matching(
    items: list[ReleaseListItem], state: str | None = None, status: str | None = None, query: str | None = None
) -> list[ReleaseListItem]:
    """The items the list's filters keep, in the order given: the one filter of REST's ``GET /releases`` and of the
    UI's list views. ``state``: that release state; ``status``: a workflow status filter (STATUS_FILTERS); ``query``:
    ids containing it, ignoring case. Without filters, ``items`` itself (no copy)."""
    if state is None and status is None and not query:
        return items
    needle = query.lower() if query else None
    return [
        i for i in items
        if (state is None or i.state == state)
        and (status is None or status_matches(i.status, status))
        and (needle is None or needle in i.id.lower())
    ]


class InvalidCursor(ValueError):
    """A release list cursor this server did not produce."""


def encode_cursor(key: tuple[int, str]) -> str:
    """Opaque cursor pointing just after the item with this sort key."""
    return base64.urlsafe_b64encode(f"{key[0]}|{key[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The sort key inside a cursor; InvalidCursor when forged or malformed."""
    if not cursor or len(cursor) > 400:
        raise InvalidCursor("cursor is empty or too long")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros, _, release_id = text.partition("|")
        if not micros.isdigit() or len(micros) > 20:
            raise ValueError
        EntityId.parse(release_id, expected=EntityType.RELEASE)
    except (ValueError, binascii.Error, UnicodeDecodeError, InvalidEntityId):
        raise InvalidCursor(f"cursor {cursor[:40]!r} is not a cursor this server issued") from None
    return int(micros), release_id


class ReleaseList:
    """All releases, newest first, shared by every reader."""

    def __init__(self, gateway: TemporalGateway, settings: Settings) -> None:
        self.gateway = gateway
        self.refresh_seconds = settings.RELEASE_LIST_REFRESH_SECONDS
        self.watched_refresh_seconds = min(settings.RELEASE_LIST_WATCHED_REFRESH_SECONDS, self.refresh_seconds)
        self.full_seconds = settings.RELEASE_LIST_FULL_SECONDS
        self.serve_due_seconds = max(SERVE_DUE_INTERVALS * self.refresh_seconds, SERVE_DUE_MIN_SECONDS)
        self.items: list[ReleaseListItem] = []
        """Newest first; replaced (never changed in place) when a listing changes something."""
        self.as_of: datetime | None = None
        self.error: ReadPathError | None = None
        self.full_listings = 0
        self.incremental_listings = 0
        self._by_id: dict[str, ReleaseListItem] = {}
        self._refreshed_at = 0.0
        self._full_at: float | None = None
        """When the last full listing ended (monotonic); None: the next listing is a full one."""
        self._listed_from: datetime | None = None
        """Wall-clock start of the last successful listing (the next incremental one looks back from there)."""
        self._by_updated_at = True
        """False once Temporal refused ``ReleaseUpdatedAt`` (a namespace without the console's search attributes)."""
        self._watched: Callable[[], Collection[str]] = tuple
        self._misses: dict[str, int] = {}
        """Listed releases that listings naming them did not find, and how many times in a row."""
        self._answered: dict[str, ListedRelease] = {}
        """Rows whose ``summary`` answer arrived and is not yet in the list."""
        self._applying: asyncio.TimerHandle | None = None
        self._summaries = SummaryStates(gateway, self._on_summary)
        self._listeners: Listeners[ListListener] = Listeners("release list")
        self._row_listeners: Listeners[RowsListener] = Listeners("release list rows")
        self._now = asyncio.Event()
        """Set when the list should be refreshed before the end of the current interval (Temporal is back)."""
        self._refreshing: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the periodic refresher."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="release list")
        if self.gateway.health is not None and self._unsubscribe is None:
            self._unsubscribe = self.gateway.health.add_listener(self._on_health)

    def _on_health(self, health: TemporalHealth) -> None:
        if health.up:
            self._now.set()
        elif self.error is None or self.error.code != "temporal_unavailable":
            self.error = health.unavailable()
            logger.warning("release list is stale: {}", self.error)
            self._notify()

    async def stop(self) -> None:
        """Stop refreshing."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel_and_wait(self._task, self._refreshing)
        await self._summaries.stop()
        if self._applying is not None:
            self._applying.cancel()
            self._applying = None
        self._task = self._refreshing = None

    # ---- reading ----------------------------------------------------------------------------------
    def add_listener(self, callback: ListListener) -> Callable[[], None]:
        """Call ``callback(release_list)`` after each refresh that changed something; returns the unsubscribe."""
        return self._listeners.add(callback)

    def follow(self, watched: Callable[[], Collection[str]], on_rows: RowsListener) -> Callable[[], None]:
        """Name ``watched()`` releases in every listing and hand their rows to ``on_rows`` (see RowsListener)."""
        self._watched = watched
        return self._row_listeners.add(on_rows)

    @property
    def fresh(self) -> bool:
        """True when the last successful refresh is within the refresh interval."""
        return self.as_of is not None and time.monotonic() - self._refreshed_at <= self.refresh_seconds

    async def ensure_fresh(self) -> None:
        """Make the list ready to answer from; never raises.

        A fresh list is answered as it is. One that is due but younger than ``serve_due_seconds`` is answered as
        it is too (its ``as_of`` tells how old) while a refresh is asked for at once: a full listing of thousands of
        releases can take longer than the refresh interval, and readers must not all wait for it. An older list
        (the first read) is refreshed first; concurrent callers share that refresh.
        """
        if self.fresh:
            return
        if self.as_of is not None and time.monotonic() - self._refreshed_at <= self.serve_due_seconds:
            self._now.set()
            return
        await self.refresh()

    def get(self, release_id: str) -> ReleaseListItem | None:
        """The list entry of one release, if listed."""
        return self._by_id.get(release_id)

    def page(
        self, limit: int, cursor: str | None = None, state: str | None = None, status: str | None = None
    ) -> tuple[list[ReleaseListItem], str | None]:
        """Up to ``limit`` items after ``cursor`` (InvalidCursor if forged), optionally in one state and status."""
        items = matching(self.items, state, status)
        if cursor:
            after = decode_cursor(cursor)
            items = [i for i in items if i.sort_key < after]
        page = items[:limit]
        next_cursor = encode_cursor(page[-1].sort_key) if len(items) > limit else None
        return page, next_cursor

    # ---- refreshing -------------------------------------------------------------------------------
    async def refresh(self, *, full: bool = False) -> None:
        """One listing (shared by concurrent callers; ``full``: list every release); errors are kept in ``.error``."""
        if full:
            self._full_at = None
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh(), name="release list refresh")
        await asyncio.shield(self._refreshing)

    async def _refresh(self) -> None:
        started = datetime.now(UTC)
        full = self._full_due()
        listed_from = self._listed_from  # None only when full (see _full_due)
        asked = None if full else list(self._watched())[:MAX_WATCHED_PER_LISTING]
        try:
            rows = await self._list(None if full or listed_from is None else listed_from - LAG_MARGIN, asked or ())
            latest = await asyncio.to_thread(_latest_runs, rows)
        except ReadPathError as exc:
            changed = self.error is None
            self.error = exc
            if changed:
                logger.warning("release list is stale: {}", exc)
                self._notify()
            return
        changed = await (self._replace(latest) if full else self._merge(latest, asked or ()))
        changed = changed or self.error is not None
        self.error = None
        self.as_of = datetime.now(UTC)
        self._refreshed_at = time.monotonic()
        self._listed_from = started
        if full:
            self._full_at = time.monotonic()
            self.full_listings += 1
        else:
            self.incremental_listings += 1
        if changed:
            self._notify()
        self._row_listeners.notify(latest, asked)

    def _full_due(self) -> bool:
        if self._full_at is None or self._listed_from is None:
            return True
        if datetime.now(UTC) - self._listed_from > FULL_AFTER_GAP:
            return True
        return time.monotonic() - self._full_at >= self.full_seconds

    async def _list(self, since: datetime | None, asked: Collection[str]) -> list[ListedRelease]:
        try:
            return await self.gateway.list_releases(since=since, ids=asked, by_updated_at=self._by_updated_at)
        except ListQueryRefused as exc:
            if since is None or not self._by_updated_at:
                raise
            self._by_updated_at = False
            logger.warning("listing by ReleaseUpdatedAt refused ({}): the list follows starts and closes only, "
                           "and other changes at each full listing", exc)
            return await self.gateway.list_releases(since=since, ids=asked, by_updated_at=False)

    async def _replace(self, latest: dict[str, ListedRelease]) -> bool:
        """Adopt a full listing; True when it differs from the list as it was."""
        before, before_by_id = self.items, self._by_id

        def build() -> tuple[dict[str, ReleaseListItem], list[ReleaseListItem], bool, list[ListedRelease]]:
            # an unchanged row keeps its item object, so listeners can skip it by identity
            listed = {release_id: old if (old := before_by_id.get(release_id)) == item else item
                      for release_id, item in self._items(latest).items()}
            by_id, items = self._built(listed, {})
            stateless = [row for row in latest.values() if SummaryStates.needed(row)]
            return by_id, items, items != before, stateless  # all in the thread: thousands of items

        self._by_id, self.items, changed, stateless = await asyncio.to_thread(build)
        self._misses.clear()
        self._summaries.keep_only(self._by_id)
        self._after_build(stateless)
        return changed

    async def _merge(self, latest: dict[str, ListedRelease], asked: Collection[str]) -> bool:
        """Fold an incremental listing in: newer runs and changed rows replace theirs, watched releases it did not
        find are gone; True when something changed."""
        known = self._by_id
        fresh = {i: item for i, item in self._items(latest).items()
                 if (old := known.get(i)) is None or (old != item and old.sort_key[0] <= item.sort_key[0])}
        gone = self._gone([i for i in asked if i not in latest and i in known], latest)
        if fresh or gone:
            self._by_id, self.items = await asyncio.to_thread(self._built, fresh, {**known}, gone)
        self._after_build([row for row in latest.values() if SummaryStates.needed(row)])
        return bool(fresh or gone)

    def _gone(self, missing: list[str], latest: Mapping[str, ListedRelease]) -> list[str]:
        """The missing releases that were missing GONE_AFTER_MISSES listings in a row (visibility may lag)."""
        for release_id in [i for i in self._misses if i in latest]:
            del self._misses[release_id]
        gone = []
        for release_id in missing:
            self._misses[release_id] = misses = self._misses.get(release_id, 0) + 1
            if misses >= GONE_AFTER_MISSES:
                gone.append(release_id)
                del self._misses[release_id]
        return gone

    def _after_build(self, stateless: list[ListedRelease]) -> None:
        """Ask the ``summary`` of the rows visibility gives no state; fold in answers that arrived while the list was
        built."""
        self._summaries.ask(row for row in stateless if self._summaries.get(row) is None)
        for row in stateless:
            item = self._by_id.get(row.id)
            if item is not None and item.state == "unknown" and self._summaries.get(row) is not None:
                self._on_summary(row)

    @staticmethod
    def _built(
        items: Mapping[str, ReleaseListItem], base: dict[str, ReleaseListItem], gone: Collection[str] = ()
    ) -> tuple[dict[str, ReleaseListItem], list[ReleaseListItem]]:
        """``base`` with ``items`` put in and ``gone`` taken out, and its items newest first (run in a thread)."""
        base.update(items)
        for release_id in gone:
            base.pop(release_id, None)
        return base, sorted(base.values(), key=_sort_key, reverse=True)

    def _items(self, rows: Mapping[str, ListedRelease]) -> dict[str, ReleaseListItem]:
        return {release_id: self._item(row) for release_id, row in rows.items()}

    def _item(self, row: ListedRelease) -> ReleaseListItem:
        """The row's item (its state from the ``summary`` answer when visibility has none; safe in a worker thread)."""
        return _item(row, self._summaries.get(row) if SummaryStates.needed(row) else None)


    def _on_summary(self, row: ListedRelease) -> None:
        """A ``summary`` answer arrived: fold it in with the others of the next SUMMARY_APPLY_SECONDS."""
        self._answered[row.id] = row
        if self._applying is None:
            self._applying = asyncio.get_running_loop().call_later(SUMMARY_APPLY_SECONDS, self._apply_summaries)

    def _apply_summaries(self) -> None:
        """Show the states the answers give, for rows still listed as they were asked (same run, same status)."""
        self._applying = None
        answered, self._answered = self._answered, {}
        changed: dict[str, ReleaseListItem] = {}
        for release_id, row in answered.items():
            old = self._by_id.get(release_id)
            if old is None or (old.start_time, old.status) != (row.start_time, row.status):
                continue  # another run or status is listed by now: its own answer will come
            item = self._item(row)
            if item != old:
                changed[release_id] = item
        if changed:
            self._by_id = {**self._by_id, **changed}
            self.items = [changed.get(i.id, i) for i in self.items]
            self._notify()

    async def _loop(self) -> None:
        while True:
            interval = self.watched_refresh_seconds if self._watched() else self.refresh_seconds
            if not self._now.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), interval)
            self._now.clear()
            with contextlib.suppress(Exception):
                await self.refresh()

    def _notify(self) -> None:
        self._listeners.notify(self)


def _sort_key(item: ReleaseListItem) -> tuple[int, str]:
    return item.sort_key


def _latest_runs(rows: list[ListedRelease]) -> dict[str, ListedRelease]:
    """One row per well-formed release id: its latest run (pure CPU: run in a worker thread)."""
    latest: dict[str, ListedRelease] = {}
    for row in rows:
        try:
            EntityId.parse(row.id, expected=EntityType.RELEASE)
        except InvalidEntityId:
            continue
        known = latest.get(row.id)
        if known is None or row.start_time > known.start_time:
            latest[row.id] = row
    return latest


def _item(row: ListedRelease, summary: JsonObject | None = None) -> ReleaseListItem:
    """The list item of a row; ``summary`` stands in for the memo of a row that has none."""
    memo = row.memo_summary or summary or {}
    attrs = row.search_attributes
    state = attrs.get(SA_STATE) or _typed(memo.get("state"), str) or "unknown"
    apps_total = _typed(memo.get("apps_total"), int) or attrs.get(SA_APPS_TOTAL) or 0
    apps_done = _typed(memo.get("apps_done"), int) or 0
    progress = attrs.get(SA_PROGRESS)
    if progress is None:
        progress = percent(apps_done, apps_total)
    updated = _typed(memo.get("updated_at"), str)
    if updated is None and (stamp := attrs.get(SA_UPDATED_AT)) is not None:
        updated = stamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return ReleaseListItem(
        id=row.id,
        state=state,
        status=row.status,
        updated_at=updated,
        counts=_counts(memo.get("counts")),
        apps_total=apps_total,
        apps_done=apps_done,
        progress=max(0, min(100, progress)),
        version=_typed(memo.get("version"), int),
        start_time=row.start_time,
        close_time=row.close_time,
        workflow_type=row.workflow_type,
    )


T = TypeVar("T")


def _typed(value: object, kind: type[T]) -> T | None:
    return value if type(value) is kind else None


def _counts(value: object) -> Counts:
    if not isinstance(value, dict):
        return {}
    return {
        t: {s: n for s, n in by_state.items() if isinstance(s, str) and type(n) is int}
        for t, by_state in value.items()
        if isinstance(t, str) and isinstance(by_state, dict)
    }
