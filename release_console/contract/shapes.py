"""The JSON shapes of the contract: query arguments and results, the update's argument and result, the workflow input.

Extra fields a caller sends are ignored by the SDK's dataclass conversion (e.g. an older ``source`` of a
TransitionBatch), so fields can be dropped without breaking callers or histories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.plan import PlanNode, plan_from_data
from ..domain.timeline import Point
from ..domain.tree import Counts


@dataclass
class EntityView:
    """One entity as queries return it."""

    id: str
    type: str
    state: str | None
    """None only in a console's mirror, for a node it could not read (the workflow's own answers always have one)."""
    updated_at: str | None
    parent: str | None
    counts: Counts
    child_count: int


@dataclass
class ReleaseSummary:
    """The ``summary`` query result: the release, its rollups and its waves."""

    release_id: str
    state: str
    version: int
    updated_at: str | None
    counts: Counts
    entity_count: int
    apps_total: int
    apps_done: int
    waves: list[EntityView]


@dataclass
class ChildrenRequest:
    """Argument of the ``children`` query; cursor is the opaque next_cursor of the previous page."""

    parent_id: str
    cursor: str | None = None
    limit: int = 100
    state: str | None = None


@dataclass
class ChildrenPage:
    """The ``children`` query result."""

    parent_id: str
    version: int
    items: list[EntityView]
    total: int
    next_cursor: str | None


@dataclass
class ChangesRequest:
    """Argument of the ``changes`` query."""

    since_version: int
    limit: int = 1000


@dataclass
class ChangeView:
    """One transition in the ``changes`` result."""

    version: int
    id: str
    state: str
    updated_at: str


@dataclass
class ChangesResult:
    """Changes after since_version up to ``version``; reload=True means the caller must reload the tree."""

    version: int
    reload: bool
    more: bool
    changes: list[ChangeView]


@dataclass
class SnapshotRequest:
    """Argument of the ``snapshot`` query: a page of all entities in tree order."""

    cursor: str | None = None
    limit: int = 2000


@dataclass
class SnapshotPage:
    """Rows ``[id, parent, state, updated_at]``, parents always before their children."""

    version: int
    total: int
    rows: list[list[str | None]]
    next_cursor: str | None


@dataclass
class Transition:
    """One reported state change."""

    entity_id: str
    state: str


@dataclass
class TransitionBatch:
    """The ``apply_transitions`` update argument: all or nothing."""

    transitions: list[Transition]


@dataclass
class TransitionResult:
    """What ``apply_transitions`` returns: the new version."""

    version: int
    applied: int


@dataclass
class CarriedState:
    """Everything a run hands to the next one on continue-as-new."""

    rows: list[list[str | None]]
    version: int
    log_floor: int
    changes: list[list[str | int]]
    started_at: str | None = None
    timeline: list[Point] | None = None


@dataclass
class ReleaseWorkflowInput:
    """Start with a plan; continue-as-new with carried state."""

    plan: PlanNode | None = None
    carried: CarriedState | None = None
    max_updates_per_run: int = 1000
    changes_kept: int = 5000


JsonObject = dict[str, Any]  # Any: decoded JSON, each value checked where it is used (see below)
"""A JSON object as decoded (a memo, a query answer; also an audit line, ID token claims, a session record, the
OpenAPI document): Any, since its readers check each value they use."""


def workflow_input_from_data(data: Mapping[str, Any]) -> ReleaseWorkflowInput:  # Any: decoded JSON, checked here
    """ReleaseWorkflowInput from its JSON form, built directly (generic conversion takes seconds for big plans)."""
    plan = data.get("plan")
    carried = data.get("carried")
    return ReleaseWorkflowInput(
        plan=plan_from_data(plan) if plan is not None else None,
        carried=CarriedState(
            rows=carried["rows"],
            version=int(carried["version"]),
            log_floor=int(carried["log_floor"]),
            changes=carried.get("changes") or [],
            started_at=carried.get("started_at"),
            timeline=carried.get("timeline"),
        )
        if carried is not None
        else None,
        max_updates_per_run=int(data.get("max_updates_per_run", 1000)),
        changes_kept=int(data.get("changes_kept", 5000)),
    )
