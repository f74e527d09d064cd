"""The release list: one shared list from Temporal visibility (search attributes + memo), refreshed periodically.

Never one query per release: a refresh is one visibility list call per 1000 releases. The list is refreshed every
RELEASE_LIST_REFRESH_SECONDS while someone asked for it recently (or listens), and not at all while idle. It follows
the health signal: stale as soon as Temporal is unreachable, refreshed at once when it answers again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loguru import logger

from ..contract.names import SA_APPS_TOTAL, SA_PROGRESS, SA_STATE, SA_UPDATED_AT
from ..core.config import Settings
from ..core.listeners import Listeners
from ..core.tasks import cancel_and_wait
from ..domain.ids import EntityId, EntityType, InvalidEntityId
from ..domain.tree import Counts, percent
from ..domain.workflow_status import status_matches
from .errors import ReadPathError
from .gateway import TemporalGateway
from .health import TemporalHealth
from .visibility import ListedRelease

ListListener = Callable[["ReleaseList"], None]
SERVE_DUE_INTERVALS = 3
SERVE_DUE_MIN_SECONDS = 10.0
"""A list refreshed less than max(3 intervals, 10 s) ago is answered without waiting for the next refresh."""
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

    @property
    def sort_key(self) -> tuple[int, str]:
        """Newest first: start time, then id."""
        started = self.start_time or _EPOCH
        return int((started - _EPOCH).total_seconds() * 1_000_000), self.id


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
        self.serve_due_seconds = max(SERVE_DUE_INTERVALS * self.refresh_seconds, SERVE_DUE_MIN_SECONDS)
        self.idle_seconds = settings.MIRROR_IDLE_SECONDS
        self.items: list[ReleaseListItem] = []
        self.as_of: datetime | None = None
        self.error: ReadPathError | None = None
        self.last_asked = time.monotonic() - self.idle_seconds - 1  # idle until someone asks
        self._refreshed_at = 0.0
        self._listeners: Listeners[ListListener] = Listeners("release list")
        self._wake = asyncio.Event()
        self._now = asyncio.Event()
        """Set when the list should be refreshed before the end of the current interval (Temporal is back)."""
        self._refreshing: asyncio.Task | None = None
        self._task: asyncio.Task | None = None
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
            self._wake.set()
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
        self._task = self._refreshing = None

    # ---- reading ----------------------------------------------------------------------------------
    def touch(self) -> None:
        """Someone looked at the list: keep (or start again) refreshing it."""
        self.last_asked = time.monotonic()
        self._wake.set()

    def add_listener(self, callback: ListListener) -> Callable[[], None]:
        """Call ``callback(release_list)`` after each refresh that changed something; returns the unsubscribe."""
        remove = self._listeners.add(callback)
        self.touch()
        return remove

    @property
    def fresh(self) -> bool:
        """True when the last successful refresh is within the refresh interval."""
        return self.as_of is not None and time.monotonic() - self._refreshed_at <= self.refresh_seconds

    async def ensure_fresh(self) -> None:
        """Make the list ready to answer from; never raises.

        A fresh list is answered as it is. One that is due but younger than ``serve_due_seconds`` is answered as
        it is too (its ``as_of`` tells how old) while a refresh is asked for at once: listing thousands of releases
        can take longer than the refresh interval, and readers must not all wait for it. An older list (the first
        read, or the first after an idle spell) is refreshed first; concurrent callers share that refresh.
        """
        self.touch()
        if self.fresh:
            return
        if self.as_of is not None and time.monotonic() - self._refreshed_at <= self.serve_due_seconds:
            self._now.set()
            return
        await self.refresh()

    def get(self, release_id: str) -> ReleaseListItem | None:
        """The list entry of one release, if listed."""
        return next((item for item in self.items if item.id == release_id), None)

    def page(
        self, limit: int, cursor: str | None = None, state: str | None = None, status: str | None = None
    ) -> tuple[list[ReleaseListItem], str | None]:
        """Up to ``limit`` items after ``cursor`` (InvalidCursor if forged), optionally in one state and status."""
        self.touch()
        items = self.items if state is None else [i for i in self.items if i.state == state]
        if status is not None:
            items = [i for i in items if status_matches(i.status, status)]
        if cursor:
            after = decode_cursor(cursor)
            items = [i for i in items if i.sort_key < after]
        page = items[:limit]
        next_cursor = encode_cursor(page[-1].sort_key) if len(items) > limit else None
        return page, next_cursor

    # ---- refreshing -------------------------------------------------------------------------------
    async def refresh(self) -> None:
        """One visibility listing (shared by concurrent callers); errors are kept in ``.error``."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh(), name="release list refresh")
        await asyncio.shield(self._refreshing)

    async def _refresh(self) -> None:
        try:
            rows = await self.gateway.list_releases()
            items = await asyncio.to_thread(_items, rows)
        except ReadPathError as exc:
            changed = self.error is None
            self.error = exc
            if changed:
                logger.warning("release list is stale: {}", exc)
                self._notify()
            return
        changed = items != self.items or self.error is not None
        self.items, self.error = items, None
        self.as_of = datetime.now(UTC)
        self._refreshed_at = time.monotonic()
        if changed:
            self._notify()

    async def _loop(self) -> None:
        while True:
            idle = not self._listeners and time.monotonic() - self.last_asked > self.idle_seconds
            if idle:
                self._wake.clear()
                await self._wake.wait()
            elif not self._now.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), self.refresh_seconds)
            self._now.clear()
            with contextlib.suppress(Exception):
                await self.refresh()

    def _notify(self) -> None:
        self._listeners.notify(self)


def _items(rows: list[ListedRelease]) -> list[ReleaseListItem]:
    """List items, one per release id (the latest run wins), newest first (pure CPU: run in a worker thread)."""
    latest: dict[str, ListedRelease] = {}
    for row in rows:
        try:
            EntityId.parse(row.id, expected=EntityType.RELEASE)
        except InvalidEntityId:
            continue
        known = latest.get(row.id)
        if known is None or row.start_time > known.start_time:
            latest[row.id] = row
    return sorted((_item(row) for row in latest.values()), key=lambda i: i.sort_key, reverse=True)


def _item(row: ListedRelease) -> ReleaseListItem:
    memo = row.memo_summary or {}
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


def _typed(value: Any, kind: type) -> Any:
    return value if type(value) is kind else None


def _counts(value: Any) -> Counts:
    if not isinstance(value, dict):
        return {}
    return {
        t: {s: n for s, n in by_state.items() if isinstance(s, str) and type(n) is int}
        for t, by_state in value.items()
        if isinstance(t, str) and isinstance(by_state, dict)
    }
