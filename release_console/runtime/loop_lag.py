"""Event-loop lag: how late a short ticker wakes up, sampled all the time (GET /api/v1/stats ``loop_lag``).

One asyncio loop serves the pages, the API, SSE and every poller, so any slice of work that holds it delays all of
them; this monitor makes such slices visible as p50/p99/max over a recent window.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import deque
from dataclasses import dataclass

TICK_SECONDS = 0.05
WINDOW_SAMPLES = 1200
"""The last minute of ticks (at 50 ms) is kept."""


@dataclass(frozen=True, slots=True)
class LagFigures:
    """Lag of the recent window in milliseconds."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int
    gc_full_collections: int = 0
    gc_full_max_ms: float = 0.0


class LoopLagMonitor:
    """A ticker that records, for every wake-up, how much later than asked it ran."""

    def __init__(self, tick_seconds: float = TICK_SECONDS, window: int = WINDOW_SAMPLES) -> None:
        self.tick_seconds = tick_seconds
        self.samples: deque[float] = deque(maxlen=window)
        self.max_seen_ms = 0.0
        """Largest lag since start (the window forgets; this does not)."""
        self._task: asyncio.Task[None] | None = None
        self.gc_full_collections = 0
        self.gc_full_max_ms = 0.0
        """Full (generation 2) garbage collections since start and the longest one: they hold the loop too."""
        self._gc_started = 0.0

    def start(self) -> None:
        """Start sampling on the running loop (and timing full garbage collections)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop lag monitor")
            gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_full_collections += 1
            self.gc_full_max_ms = max(self.gc_full_max_ms, (time.perf_counter() - self._gc_started) * 1000)

    async def stop(self) -> None:
        """Stop sampling."""
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.tick_seconds)
            self.record(max(0.0, time.perf_counter() - asked - self.tick_seconds) * 1000)

    def record(self, lag_ms: float) -> None:
        """Add one sample (milliseconds)."""
        self.samples.append(lag_ms)
        self.max_seen_ms = max(self.max_seen_ms, lag_ms)

    def figures(self) -> LagFigures:
        """p50/p99/max of the window (zeros before the first sample)."""
        ordered = sorted(self.samples)
        full = (self.gc_full_collections, round(self.gc_full_max_ms, 2))
        if not ordered:
            return LagFigures(0.0, 0.0, 0.0, 0, *full)

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

        return LagFigures(at(0.5), at(0.99), round(ordered[-1], 2), len(ordered), *full)
