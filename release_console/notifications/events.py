"""Events, worked out from what the read path already has: release list rows, and the tree of a failing release.

Everything here is a pure function of data every console instance reads alike (states, versions, Temporal's times),
so two instances that see the same event give it the same ``marker`` and so the same delivery id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..domain.ids import EntityType
from ..domain.states import DONE_STATES, StateKind, state_kind
from ..domain.tree import Entity, ReleaseTree
from ..readpath.release_list import ReleaseListItem

CLOSED_STATUSES = frozenset({"terminated", "timed_out", "failed", "canceled"})
"""Workflow statuses that end a release abnormally (``release.closed``)."""
FIRST_FEW = 5
FOLLOW_UP = "more|"
"""The marker prefix of a burst's summary (the failures that followed its first one)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event of one release: ``marker`` tells occurrences apart (same event, same marker, same delivery)."""

    name: str
    release_id: str
    run: str
    marker: str
    headline: str
    failing: tuple[str, ...] = ()
    scope: str | None = None


def run_of(item: ReleaseListItem) -> str:
    """The run a row belongs to (a release id may be started again): its start time in microseconds."""
    return str(int(item.start_time.timestamp() * 1_000_000)) if item.start_time else ""


def parse_time(text: str | None) -> datetime | None:
    """A workflow-reported ISO time, or None when missing or unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def failed_count(item: ReleaseListItem, entity_type: str | None = None) -> int:
    """Entities in a failure state below the release (of one type, or of every type)."""
    total = 0
    for kind, states in item.counts.items():
        if entity_type is None or kind == entity_type:
            total += sum(n for state, n in states.items() if state_kind(state) == StateKind.FAILED)
    return total


def row_events(before: ReleaseListItem | None, after: ReleaseListItem, now: datetime,
               catch_up_seconds: float) -> list[Event]:
    """What changed between two rows of a release (``before`` None: first seen, told only when recent)."""
    run = run_of(after)
    events: list[Event] = []
    recent = _recent(parse_time(after.updated_at), now, catch_up_seconds)
    state_new = before is None or before.state != after.state or run_of(before) != run
    if state_new and (before is not None or recent):
        kind = state_kind(after.state)
        if kind == StateKind.FAILED:
            events.append(Event("release.failed", after.id, run, f"v{after.version}",
                                f"{after.id} failed (state {after.state})"))
        elif after.state in DONE_STATES:
            events.append(Event("release.completed", after.id, run, f"v{after.version}",
                                f"{after.id} is done (state {after.state})"))
    closed_new = after.status in CLOSED_STATUSES and (before is None or before.status != after.status)
    if closed_new and (before is not None or _recent(after.close_time, now, catch_up_seconds)):
        events.append(Event("release.closed", after.id, run, after.status,
                                f"{after.id}: its workflow {after.status.replace('_', ' ')}"))
    return events


def failures_grew(before: ReleaseListItem | None, after: ReleaseListItem, now: datetime,
                  catch_up_seconds: float) -> bool:
    """Whether the release may have new failures below it (its tree is worth a look)."""
    if before is None:
        return failed_count(after) > 0 and _recent(parse_time(after.updated_at), now, catch_up_seconds)
    return failed_count(after) > failed_count(before)


def stalled_for(item: ReleaseListItem, now: datetime) -> float | None:
    """Seconds a running release has gone without a change (None when not running or its time is unknown)."""
    if item.status != "running" or item.state in DONE_STATES:
        return None
    updated = parse_time(item.updated_at)
    return (now - updated).total_seconds() if updated is not None else None


def stalled_event(item: ReleaseListItem, idle_seconds: float) -> Event:
    return Event("release.stalled", item.id, run_of(item), f"v{item.version}",
                 f"{item.id} has not changed for {_duration(idle_seconds)} (state {item.state})")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"


def _recent(at: datetime | None, now: datetime, window: float) -> bool:
    return at is not None and (now - at).total_seconds() <= window


# ---- failures below a node, from the tree --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Failure:
    at: datetime
    id: str
    type: EntityType
    wave: str | None


@dataclass(slots=True)
class Burst:
    """Failures of one scope that came together: the first one is told at once, the rest in one summary."""

    scope: str
    first: Failure
    rest: list[Failure] = field(default_factory=list)

    @property
    def marker(self) -> str:
        return f"{self.scope}|{self.first.id}|{int(self.first.at.timestamp() * 1_000_000)}"


def failures(tree: ReleaseTree) -> list[Failure]:
    """Every entity in a failure state, oldest first; only subtrees whose rollups count a failure are walked."""
    found: list[Failure] = []
    stack: list[tuple[Entity, str | None]] = [(tree.root, None)]
    entities = tree.entities
    while stack:
        entity, wave = stack.pop()
        if entity.type == EntityType.WAVE:
            wave = entity.id
        if entity.type != EntityType.RELEASE and entity.state and state_kind(entity.state) == StateKind.FAILED:
            at = parse_time(entity.updated_at)
            if at is not None:
                found.append(Failure(at, entity.id, entity.type, wave))
        for child_id in entity.children:
            child = entities[child_id]
            if _has_failure(child):
                stack.append((child, wave))
    found.sort(key=lambda f: (f.at, f.id))
    return found


def _has_failure(entity: Entity) -> bool:
    if entity.state and state_kind(entity.state) == StateKind.FAILED:
        return True
    return any(state_kind(state) == StateKind.FAILED and n > 0
               for states in entity.counts.values() for state, n in states.items())


def bursts(found: list[Failure], scope_of: Callable[[Failure], str | None], window_seconds: float) -> Iterator[Burst]:
    """Group failures by ``scope_of(failure)`` (None: left out) into bursts: a burst takes every failure of its
    scope within ``window_seconds`` of its first one."""
    open_bursts: dict[str, Burst] = {}
    for failure in found:
        scope = scope_of(failure)
        if scope is None:
            continue
        burst = open_bursts.get(scope)
        if burst is not None and (failure.at - burst.first.at).total_seconds() <= window_seconds:
            burst.rest.append(failure)
            continue
        if burst is not None:
            yield burst
        open_bursts[scope] = Burst(scope, failure)
    yield from open_bursts.values()


def app_scope(failure: Failure) -> str | None:
    """``app.failed``: apps, release-wide."""
    return "release" if failure.type == EntityType.APP else None


def wave_scope(failure: Failure) -> str | None:
    """``wave.failed``: anything failing at or below a wave, per wave."""
    return failure.wave
