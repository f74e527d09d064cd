"""A mirror's serialized answers, kept for its current version and shared by every reader (``ReleaseMirror.answers``).

One event loop serves everything, so answers are built in slices that yield to it (answers/ decides the slices: a
few milliseconds each). A build restarts when the mirror changes between two slices, so an answer never mixes
versions. Readers of the same (mirror version, parameters) share one build: 100 clients reading the same version
cost one serialization. The cache belongs to its mirror: it goes with it, and is emptied when the mirror is retired.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Generator, Hashable, Sized
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Build = Generator[None, None, T]
"""A sliced build: yields between slices (the mirror may change there), returns its result."""

MAX_RESTARTS = 4
"""A build that saw the mirror change this often runs once more without yielding (a few tens of ms at most)."""
MAX_CACHED_ANSWERS = 64
MAX_CACHED_BYTES = 64 * 1024 * 1024
"""Per mirror: serialized answers kept for the current version."""

DataKey = tuple[int, int, str, bool]


class Versioned(Protocol):
    """What an answer's cached part depends on (a ReleaseMirror; named here so this module needs no mirror)."""

    @property
    def release_id(self) -> str: ...

    @property
    def tree(self) -> object: ...

    @property
    def status(self) -> str: ...

    @property
    def partial(self) -> bool: ...

    @property
    def version(self) -> int: ...


def data_key(mirror: Versioned) -> DataKey:
    """What an answer's cached part depends on: the tree object, its version, the status, partial or not."""
    return id(mirror.tree), mirror.version, mirror.status, mirror.partial


async def run_sliced(mirror: Versioned, make: Callable[[], Build[T]]) -> T:
    """Run a sliced build, yielding to the loop between slices; restart it when the mirror changed meanwhile."""
    for _attempt in range(MAX_RESTARTS):
        key = data_key(mirror)
        build = make()
        try:
            while True:
                next(build)
                await asyncio.sleep(0)
                if data_key(mirror) != key:
                    break
        except StopIteration as finished:
            result: T = finished.value  # StopIteration.value is Any: the generator's return value, a T
            return result
    build = make()
    try:
        while True:
            next(build)
    except StopIteration as finished:
        last: T = finished.value
        return last


@dataclass
class _Cached:
    key: DataKey
    task: asyncio.Task[Any]  # Any: each entry's answer has the type its own ``make`` builds
    size: int = 0


class AnswerCache:
    """One mirror's serialized answers for its current version, keyed by request parameters."""

    def __init__(self, mirror: Versioned) -> None:
        self._mirror = weakref.ref(mirror)  # the mirror holds its cache: no reference cycle
        self.entries: dict[Hashable, _Cached] = {}
        self.builds = 0
        """How many answers were built (tests: many readers of one version cost one build)."""

    async def get(self, params: Hashable, make: Callable[[], Build[T]]) -> T:
        """The answer for ``params``, built once per mirror version whatever the number of readers."""
        mirror = self._mirror()
        if mirror is None:
            raise RuntimeError("the mirror of this answer cache is gone")
        key = data_key(mirror)
        cached = self.entries.get(params)
        if cached is None or cached.key != key or _failed(cached.task):
            self._make_room()
            self.builds += 1
            task = asyncio.create_task(run_sliced(mirror, make), name=f"answer {mirror.release_id}")
            cached = self.entries[params] = _Cached(key, task)
            task.add_done_callback(functools.partial(_record_size, cached))
        return await asyncio.shield(cached.task)

    def clear(self) -> None:
        """Drop every kept answer (the mirror was retired); builds in flight still finish for their readers."""
        self.entries.clear()

    def _make_room(self) -> None:
        while self.entries and (
            len(self.entries) >= MAX_CACHED_ANSWERS or sum(c.size for c in self.entries.values()) > MAX_CACHED_BYTES
        ):
            del self.entries[next(iter(self.entries))]


def _failed(task: asyncio.Task[object]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _record_size(cached: _Cached, task: asyncio.Task[Sized]) -> None:
    if not task.cancelled() and task.exception() is None:
        result = task.result()
        cached.size = len(result)
