"""Counters of every call the read path makes to Temporal (exposed at GET /api/v1/stats)."""

from __future__ import annotations

import time
from collections import Counter, deque
from datetime import UTC, datetime

MAX_RELEASES_TRACKED = 2000
"""Per-release counters kept for at most this many releases (the oldest entries are dropped first)."""
POLLS_TIMED = 5000
POLL_WINDOW_SECONDS = 60.0
"""``changes`` polls are timed (from the call to its answer read on the loop) over the last minute (at most
POLLS_TIMED of them)."""


class ReadPathStats:
    """Counts Temporal calls by kind (``query:changes``, ``describe``, ``list`` …) and their failures."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.by_release: dict[str, Counter[str]] = {}
        self.started_at = datetime.now(UTC)
        self.poll_seconds: deque[tuple[float, float]] = deque(maxlen=POLLS_TIMED)
        """(when, seconds) of the recent polls."""

    def count(self, kind: str, release_id: str | None = None, origin: str | None = None) -> None:
        """Record one call; per release also by origin (``load`` or ``poll``) so tests can tell readers from pollers."""
        self.calls[kind] += 1
        if release_id is not None:
            per_release = self.by_release.get(release_id)
            if per_release is None:
                per_release = self.by_release[release_id] = Counter()
                while len(self.by_release) > MAX_RELEASES_TRACKED:
                    del self.by_release[next(iter(self.by_release))]
            per_release[kind] += 1
            if origin:
                per_release[f"{origin}:{kind}"] += 1

    def for_release(self, release_id: str) -> dict[str, int]:
        """The calls made for one release, by kind and by ``origin:kind``."""
        return dict(self.by_release.get(release_id, {}))

    def forget(self, release_id: str) -> None:
        """Drop the per-release counters of a release no longer watched (stopped or failed to load)."""
        self.by_release.pop(release_id, None)

    def timed_poll(self, seconds: float) -> None:
        """Record how long one mirror's ``changes`` poll took, until its answer was read on the event loop."""
        self.poll_seconds.append((time.monotonic(), seconds))

    def poll_latency(self) -> dict[str, float | int] | None:
        """p50/p99/max of the last minute's polls in milliseconds (None when there was none)."""
        since = time.monotonic() - POLL_WINDOW_SECONDS
        ordered = sorted(seconds for when, seconds in self.poll_seconds if when >= since)
        if not ordered:
            return None

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

        return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(ordered[-1] * 1000, 1),
                "samples": len(ordered)}

    def fail(self, kind: str, release_id: str | None = None) -> None:
        """Record one failed call (already counted by :meth:`count`); per release as ``failed:<kind>``."""
        self.failures[kind] += 1
        if release_id is not None and (per_release := self.by_release.get(release_id)) is not None:
            per_release[f"failed:{kind}"] += 1

    @property
    def queries(self) -> int:
        """All workflow queries made so far."""
        return sum(n for kind, n in self.calls.items() if kind.startswith("query:"))

    @property
    def total(self) -> int:
        """All Temporal calls made so far."""
        return sum(self.calls.values())

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready copy of the counters."""
        return {
            "since": self.started_at,
            "total": self.total,
            "queries": self.queries,
            "calls": dict(sorted(self.calls.items())),
            "failures": dict(sorted(self.failures.items())),
        }
