"""Each task queue's sentinel, its witness and its held mirrors, decided by the registry after each listing (the
mirrors here are never started: their polls' outcomes are set by hand; tests/integration/readpath/
test_costs_at_rest.py has the same with a real worker that leaves and comes back)."""

from __future__ import annotations

import time
from typing import cast

from release_console.core.config import Settings
from release_console.readpath.errors import WorkerNotResponding
from release_console.readpath.gateway import TemporalGateway
from release_console.readpath.mirror import MirrorRegistry, ReleaseMirror
from release_console.readpath.release_list import ReleaseList

QUEUE = "deployments"


def registry_of(count: int) -> tuple[MirrorRegistry, list[ReleaseMirror]]:
    """A registry holding ``count`` mirrors of QUEUE, the first the most recently used."""
    settings = Settings()
    gateway = cast(TemporalGateway, None)  # never asked: nothing polls here
    registry = MirrorRegistry(gateway, settings, cast(ReleaseList, None))
    mirrors = []
    for number in range(count):
        mirror = ReleaseMirror(f"release:r{number}", gateway, settings)
        mirror.task_queue = QUEUE
        mirror.last_used = 1000.0 - number
        registry._mirrors[mirror.release_id] = mirror
        mirrors.append(mirror)
    return registry, mirrors


def poll(mirror: ReleaseMirror, *, answered: bool) -> None:
    """What the mirror's poll loop records after one poll."""
    mirror.error = None if answered else WorkerNotResponding(f"no worker answered {mirror.release_id}")
    mirror.polled_at = time.monotonic()
    if answered:
        mirror.held = False


def test_the_most_recently_used_mirror_is_the_sentinel_and_is_woken() -> None:
    registry, (first, second, third) = registry_of(3)
    registry._watch_task_queues()
    assert [m.sentinel for m in (first, second, third)] == [True, False, False]
    assert first._wake.is_set()
    registry._watch_task_queues()
    assert [m.sentinel for m in (first, second, third)] == [True, False, False]  # kept, not chosen again


def test_a_queue_without_workers_holds_its_other_mirrors_until_the_sentinel_answers() -> None:
    registry, (sentinel, witness, other) = registry_of(3)
    registry._watch_task_queues()
    poll(sentinel, answered=False)
    registry._watch_task_queues()
    assert witness._wake.is_set() and other.error is None  # a second opinion first
    registry._watch_task_queues()
    assert other.error is None  # the witness has not answered yet
    poll(witness, answered=False)
    registry._watch_task_queues()
    assert other.held and isinstance(other.error, WorkerNotResponding) and QUEUE in str(other.error)
    assert not witness.held  # it asked for itself and polls on its own
    other._wake.clear()
    registry._watch_task_queues()
    assert other.held and not other._wake.is_set()  # told once, no polls while held
    poll(sentinel, answered=True)
    registry._watch_task_queues()
    assert not other.held and other._wake.is_set()  # resumed: it polls now


def test_a_sentinel_whose_own_release_fails_is_replaced_by_a_witness_that_answers() -> None:
    registry, (sentinel, witness, other) = registry_of(3)
    registry._watch_task_queues()
    poll(sentinel, answered=False)
    registry._watch_task_queues()
    poll(witness, answered=True)
    registry._watch_task_queues()
    assert witness.sentinel and not sentinel.sentinel
    assert other.error is None and not other.held


def test_a_closed_sentinel_is_replaced_and_a_second_one_of_a_queue_is_dropped() -> None:
    registry, (first, second, third) = registry_of(3)
    registry._watch_task_queues()
    first.status = "completed"
    third.sentinel = True  # say, a run that continued as new onto this queue
    registry._watch_task_queues()
    assert not first.sentinel
    assert [second.sentinel, third.sentinel].count(True) == 1
