"""The optional ``timeline`` query, read once per release for every reader (UI charts, REST).

One TimelineFeed per mirror (``ReleaseMirror.timeline``: made on first use, stopped when the mirror is retired): it
asks the workflow's ``timeline`` query only when the mirror's version moved since the last answer, and at most every
TIMELINE_REFRESH_SECONDS, so N viewers cost what one costs and an idle release costs nothing. A closed release is
asked once. A workflow that does not implement the query (a foreign workflow following only the required part of
docs/query-contract.md) is remembered as ``supported = False``: the chart is hidden with a note and REST answers 404
``timeline_not_supported``; it is not asked again while the release stays mirrored. The feed stops when nobody
listened or asked for MIRROR_IDLE_SECONDS, and starts again on the next reader.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from loguru import logger
from nicegui import background_tasks

from ..contract.names import QUERY_TIMELINE
from ..core.listeners import Listeners
from ..core.tasks import cancel_and_wait
from ..domain.timeline import InvalidTimeline, Point, parse_timeline
from .errors import InvalidReleaseData, ReadPathError
from .gateway import TemporalGateway


class FollowedMirror(Protocol):
    """What a feed reads of its mirror (a ReleaseMirror; named here: mirror.py imports this module)."""

    @property
    def release_id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def gateway(self) -> TemporalGateway: ...

TIMELINE_REFRESH_SECONDS = 3.0
"""At most one ``timeline`` query per release this often, and only when the release's version changed."""
UNSUPPORTED_HINTS = ("unknown query", "not found", "known queries", "knownquerytypes", "unknown querytype")

TimelineListener = Callable[["TimelineFeed"], None]


def _unsupported(error: InvalidReleaseData) -> bool:
    """Whether a failed ``timeline`` query means the workflow has no such query (SDKs word it differently)."""
    text = error.message.lower()
    return any(hint in text for hint in UNSUPPORTED_HINTS)


class TimelineFeed:
    """The latest ``timeline`` answer of one release, shared by every reader."""

    def __init__(self, mirror: FollowedMirror, refresh_seconds: float = TIMELINE_REFRESH_SECONDS) -> None:
        self._mirror = weakref.ref(mirror)
        self.release_id: str = mirror.release_id
        self.refresh_seconds = refresh_seconds
        self.idle_seconds: float = float(getattr(mirror, "idle_seconds", 120.0) or 120.0)
        self.points: list[Point] = []
        self.version: int | None = None
        """The release version the points describe (None until the first answer)."""
        self.as_of: datetime | None = None
        self.supported: bool | None = None
        """None until asked; False when the workflow does not implement the query."""
        self.error: ReadPathError | None = None
        self.revision = 0
        """Bumped whenever points, support or error change: readers redraw only then."""
        self.last_used = time.monotonic()
        self._asked_version: int | None = None
        self._asked_at = 0.0
        self._listeners: Listeners[TimelineListener] = Listeners("timeline")
        self._fetching: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def mirror(self) -> FollowedMirror:
        mirror = self._mirror()
        if mirror is None:
            raise RuntimeError(f"the mirror of {self.release_id} is gone")
        return mirror

    # ---- readers ---------------------------------------------------------------------------------
    def touch(self) -> None:
        """Someone read the timeline: keep (or start again) following the release."""
        self.last_used = time.monotonic()
        self._start()

    def add_listener(self, callback: TimelineListener) -> Callable[[], None]:
        """Call ``callback(feed)`` after each change of the timeline; returns the unsubscribe."""
        remove = self._listeners.add(callback)
        self.touch()
        return remove

    async def ensure_loaded(self) -> None:
        """Wait for a first answer if there is none yet (concurrent callers share the one query)."""
        self.touch()
        if self.supported is None and self.error is None:
            await self.fetch()

    # ---- fetching ----------------------------------------------------------------------------------
    def _due(self) -> bool:
        mirror = self.mirror
        if self.supported is False:
            return False
        if self._asked_version == mirror.version and self.error is None:
            return False
        if getattr(mirror, "deleted", False):
            return False
        return time.monotonic() - self._asked_at >= self.refresh_seconds or self._asked_version is None

    async def fetch(self) -> None:
        """One ``timeline`` query (shared by concurrent callers); errors are kept in ``.error``."""
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.create_task(self._fetch(), name=f"timeline {self.release_id}")
        await asyncio.shield(self._fetching)

    async def _fetch(self) -> None:
        mirror = self.mirror
        asked = mirror.version
        self._asked_at = time.monotonic()
        try:
            raw = await mirror.gateway._query(self.release_id, QUERY_TIMELINE, None, "timeline")
            version, points = parse_timeline(raw)
        except InvalidReleaseData as exc:
            if _unsupported(exc):
                self._asked_version = asked
                self._set(supported=False, error=None)
                logger.info("{} has no timeline query: its chart is hidden", self.release_id)
            else:
                self._set(error=exc)
            return
        except InvalidTimeline as exc:
            self._set(error=InvalidReleaseData(f"{self.release_id} answered an invalid timeline: {exc}"))
            return
        except ReadPathError as exc:
            self._set(error=exc)
            return
        self._asked_version = asked
        self.as_of = datetime.now(UTC)
        changed = points != self.points or version != self.version
        self.points, self.version = points, version
        self._set(supported=True, error=None, changed=changed)

    def _set(self, *, supported: bool | None = None, error: ReadPathError | None = None, changed: bool = False) -> None:
        before = (self.supported, str(self.error) if self.error else None)
        if supported is not None:
            self.supported = supported
        self.error = error
        if changed or before != (self.supported, str(self.error) if self.error else None):
            self.revision += 1
            self._listeners.notify(self)

    # ---- the follower --------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = background_tasks.create(self._loop(), name=f"timeline follower {self.release_id}")

    async def stop(self) -> None:
        """Stop following the release (its mirror was retired); a query in flight still answers its readers."""
        await cancel_and_wait(self._task)
        self._task = None

    def _idle(self) -> bool:
        return not self._listeners and time.monotonic() - self.last_used > self.idle_seconds

    async def _loop(self) -> None:
        """Check the mirror's version (no Temporal call) every refresh interval; query only when it moved."""
        while not self._idle():
            try:
                if self._due():
                    await self.fetch()
            except RuntimeError:  # the mirror was dropped
                return
            except Exception:
                logger.exception("timeline follower of {} failed", self.release_id)
            await asyncio.sleep(self.refresh_seconds)
