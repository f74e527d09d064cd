"""The query/update contract of a release workflow: names and JSON shapes (see docs/query-contract.md).

Any workflow, in any SDK, that answers these queries with these shapes appears in the console.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from temporalio.common import SearchAttributeKey

from ..domain.plan import PlanNode, plan_from_data

DEFAULT_WORKFLOW_TYPE = "ReleaseWorkflow"

QUERY_SUMMARY = "summary"
QUERY_ENTITY = "entity"
QUERY_CHILDREN = "children"
QUERY_CHANGES = "changes"
QUERY_SNAPSHOT = "snapshot"
QUERY_TIMELINE = "timeline"
"""Optional: the release's compact progress timeline (domain/timeline.py); a workflow without it has no chart."""
UPDATE_TRANSITIONS = "apply_transitions"

MAX_CHILDREN_PAGE = 1000
MAX_SNAPSHOT_PAGE = 4000
MAX_CHANGES_PAGE = 2000
MAX_BATCH_TRANSITIONS = 1000
MAX_SUMMARY_WAVES = 200
RESULT_BYTES_BUDGET = 192 * 1024
"""Pages (children, snapshot, changes) end early once their JSON reaches about this size, so every result stays
plain JSON (below the codec's compression threshold) and far below Temporal's limits, whatever the ids' length."""
SNAPSHOT_BYTES_BUDGET = 240 * 1024
"""Snapshot pages, whose row sizes are counted exactly, may fill up to this (still below the 256 KiB threshold):
fewer, larger pages make a cold load of a big release faster."""

Counts = dict[str, dict[str, int]]

SA_STATE = SearchAttributeKey.for_keyword("ReleaseState")
SA_PROGRESS = SearchAttributeKey.for_int("ReleaseProgress")
SA_APPS_TOTAL = SearchAttributeKey.for_int("ReleaseAppsTotal")
SA_APPS_FAILED = SearchAttributeKey.for_int("ReleaseAppsFailed")
SA_UPDATED_AT = SearchAttributeKey.for_datetime("ReleaseUpdatedAt")
SEARCH_ATTRIBUTES = (SA_STATE, SA_PROGRESS, SA_APPS_TOTAL, SA_APPS_FAILED, SA_UPDATED_AT)
MEMO_SUMMARY = "summary"


@dataclass
class EntityView:
    """One entity as queries return it."""

    id: str
    type: str
    state: str
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
    source: str | None = None


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
    timeline: list[list[Any]] | None = None


@dataclass
class ReleaseWorkflowInput:
    """Start with a plan; continue-as-new with carried state."""

    plan: PlanNode | None = None
    carried: CarriedState | None = None
    max_updates_per_run: int = 1000
    changes_kept: int = 5000


def workflow_input_from_data(data: Mapping[str, Any]) -> ReleaseWorkflowInput:
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


def parse_offset_cursor(cursor: str | None, total: int) -> int:
    """Decode an offset cursor ``o:<n>``; ValueError if forged or out of range."""
    if cursor is None or cursor == "":
        return 0
    prefix, _, number = cursor.partition(":")
    if prefix != "o" or not number.isdigit() or len(number) > 9:
        raise ValueError(f"invalid cursor {cursor[:40]!r}")
    offset = int(number)
    if offset > total:
        raise ValueError(f"cursor {cursor!r} is past the end ({total} items)")
    return offset


def offset_cursor(offset: int, total: int) -> str | None:
    """The cursor of the page starting at ``offset`` (None when nothing is left)."""
    return f"o:{offset}" if offset < total else None
