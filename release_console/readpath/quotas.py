"""What one signed-in user may make the console spend: caps that answer 429 with Retry-After instead of working.

- ``new_mirror``: releases the console starts mirroring (a poller, a tree in memory) because this user opened them,
  per minute (USER_NEW_MIRRORS_PER_MINUTE). Reading releases already mirrored is never charged.
- ``entity_lookup``: cross-release entity lookups (REST ``GET /entities/{id}``, the header's search), each of which
  reads the entity index and may open the holder's mirror, per minute (USER_ENTITY_LOOKUPS_PER_MINUTE).
- ``sse_stream``: event streams open at once (USER_SSE_STREAMS).

The counts are per console process (a user spread over N instances gets N times the budget: still bounded).
Refusals are counted by kind for /metrics and logged at most once a minute per user and kind.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable

from loguru import logger

from ..core.config import Settings
from .errors import ReadPathError

WINDOW_SECONDS = 60.0
MAX_WINDOWS = 10_000
"""Windows kept before the old ones are dropped (the threshold doubles with what is still live)."""
KINDS = ("new_mirror", "entity_lookup", "sse_stream")
WHAT = {
    "new_mirror": "releases newly opened",
    "entity_lookup": "entity lookups across releases",
    "sse_stream": "event streams open at once",
}


class QuotaExceeded(ReadPathError):
    """One user asked for more than a cap allows."""

    code = "quota_exceeded"
    status = 429


class UserQuotas:
    """Sliding one-minute windows per (user, kind), and open streams per user."""

    kinds = KINDS

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = {
            "new_mirror": settings.USER_NEW_MIRRORS_PER_MINUTE,
            "entity_lookup": settings.USER_ENTITY_LOOKUPS_PER_MINUTE,
        }
        self.max_streams = settings.USER_SSE_STREAMS
        self.clock = clock
        self.refused: Counter[str] = Counter()
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._streams: Counter[str] = Counter()
        self._logged: dict[tuple[str, str], float] = {}
        self._prune_at = MAX_WINDOWS

    def charge(self, kind: str, user: str) -> None:
        """Count one ``kind`` for ``user``; QuotaExceeded (429, Retry-After) when the minute's budget is spent."""
        limit = self.per_minute[kind]
        now = self.clock()
        window = self._windows.setdefault((kind, user), deque())
        while window and now - window[0] >= WINDOW_SECONDS:
            window.popleft()
        if len(window) >= limit:
            self._refuse(kind, user, f"at most {limit} {WHAT[kind]} per minute per user",
                         retry_after=WINDOW_SECONDS - (now - window[0]))
        window.append(now)
        if len(self._windows) > self._prune_at:
            self._prune(now)

    def refund(self, kind: str, user: str) -> None:
        """Give back the latest ``kind`` charged to ``user`` (what it paid for did not happen)."""
        window = self._windows.get((kind, user))
        if window:
            window.pop()

    def open_stream(self, user: str) -> StreamSlot:
        """Take one of ``user``'s event-stream slots (QuotaExceeded when all are taken); close it when the stream
        ends. A slot whose stream never ran is given back when it is garbage-collected."""
        if self._streams[user] >= self.max_streams:
            self._refuse("sse_stream", user, f"at most {self.max_streams} {WHAT['sse_stream']} per user; close one",
                         retry_after=5)
        self._streams[user] += 1
        return StreamSlot(self, user)

    def _close_stream(self, user: str) -> None:
        self._streams[user] -= 1
        if self._streams[user] <= 0:
            del self._streams[user]

    def _refuse(self, kind: str, user: str, rule: str, *, retry_after: float) -> None:
        self.refused[kind] += 1
        now = self.clock()
        if now - self._logged.get((kind, user), -WINDOW_SECONDS) >= WINDOW_SECONDS:
            self._logged[(kind, user)] = now
            logger.warning("refused {} for user {!r}: {}", kind.replace("_", " "), user, rule)
        raise QuotaExceeded(f"Too many requests: {rule}", retry_after=max(1.0, retry_after))

    def _prune(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w and now - w[-1] < WINDOW_SECONDS}
        self._logged = {k: t for k, t in self._logged.items() if now - t < WINDOW_SECONDS}
        self._prune_at = max(MAX_WINDOWS, 2 * len(self._windows))  # never a prune per charge


class StreamSlot:
    """One open event stream of a user (see :meth:`UserQuotas.open_stream`)."""

    def __init__(self, quotas: UserQuotas, user: str) -> None:
        self._quotas: UserQuotas | None = quotas
        self.user = user

    def close(self) -> None:
        """Give the slot back (once)."""
        if self._quotas is not None:
            self._quotas._close_stream(self.user)
            self._quotas = None

    def __del__(self) -> None:
        self.close()
