"""Counters of every call the read path makes to Temporal (exposed at GET /api/v1/stats)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

MAX_RELEASES_TRACKED = 2000
"""Per-release counters kept for at most this many releases (the oldest entries are dropped first)."""


class ReadPathStats:
    """Counts Temporal calls by kind (``query:changes``, ``describe``, ``list`` …) and their failures."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.by_release: dict[str, Counter[str]] = {}
        self.started_at = datetime.now(UTC)

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

    def fail(self, kind: str) -> None:
        """Record one failed call (already counted by :meth:`count`)."""
        self.failures[kind] += 1

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
