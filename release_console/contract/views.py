"""Turn a ReleaseTree into the contract's query results and memo summary (the workflow answers with these)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TypedDict, TypeVar

from ..domain.ids import EntityType
from ..domain.plan import EntityRow
from ..domain.summary import release_overview
from ..domain.tree import Entity, ReleaseTree, last_updated, row_json_size
from .cursors import offset_cursor, parse_offset_cursor
from .limits import (
    MAX_CHANGES_PAGE,
    MAX_CHILDREN_PAGE,
    MAX_SNAPSHOT_PAGE,
    MAX_SUMMARY_WAVES,
    RESULT_BYTES_BUDGET,
    SNAPSHOT_BYTES_BUDGET,
)
from .shapes import (
    ChangesRequest,
    ChangesResult,
    ChangeView,
    ChildrenPage,
    ChildrenRequest,
    EntityView,
    ReleaseSummary,
    SnapshotPage,
    SnapshotRequest,
)


def entity_view(entity: Entity) -> EntityView:
    """One entity with its rollups."""
    return EntityView(
        id=entity.id,
        type=entity.type.value,
        state=entity.state,
        updated_at=entity.updated_at,
        parent=entity.parent,
        counts={t: dict(s) for t, s in entity.counts.items()},
        child_count=len(entity.children),
    )


def summary_view(tree: ReleaseTree) -> ReleaseSummary:
    """The release with rollups and its waves."""
    overview = release_overview(tree, last_updated(tree))
    return ReleaseSummary(
        release_id=overview.release_id,
        state=overview.state,
        version=overview.version,
        updated_at=overview.updated_at,
        counts={t: dict(s) for t, s in overview.counts.items()},
        entity_count=overview.entity_count,
        apps_total=overview.apps_total,
        apps_done=overview.apps_done,
        waves=_waves_within_budget(tree),
    )


def release_memo(tree: ReleaseTree, updated_at: str | None) -> dict[str, object]:
    """The compact summary kept in the memo under MEMO_SUMMARY (also the final summary of a closed release)."""
    overview = release_overview(tree, updated_at)
    return {
        "state": overview.state,
        "version": overview.version,
        "updated_at": overview.updated_at,
        "apps_total": overview.apps_total,
        "apps_done": overview.apps_done,
        "entity_count": overview.entity_count,
        "counts": overview.counts,
    }


def _waves_within_budget(tree: ReleaseTree) -> list[EntityView]:
    """The first MAX_SUMMARY_WAVES waves in plan order, fewer if their JSON would pass RESULT_BYTES_BUDGET."""
    waves: list[EntityView] = []
    size = 0
    for wave in tree.children_of(tree.root.id)[:MAX_SUMMARY_WAVES]:
        if wave.type is not EntityType.WAVE:
            continue
        view = entity_view(wave)
        size += len(json.dumps(asdict(view)))
        if size > RESULT_BYTES_BUDGET:
            break
        waves.append(view)
    return waves


def children_view(tree: ReleaseTree, request: ChildrenRequest) -> ChildrenPage:
    """A page of one node's children (ValueError for a bad cursor or limit; UnknownEntity for a bad parent)."""
    limit = _check_limit(request.limit, MAX_CHILDREN_PAGE)
    kids = tree.children_of(request.parent_id, request.state)
    start = parse_offset_cursor(request.cursor, len(kids))
    page = _within_budget(kids[start : start + limit], _entity_json_size)
    return ChildrenPage(
        parent_id=request.parent_id,
        version=tree.version,
        items=[entity_view(k) for k in page],
        total=len(kids),
        next_cursor=offset_cursor(start + len(page), len(kids)),
    )


def changes_view(tree: ReleaseTree, request: ChangesRequest) -> ChangesResult:
    """Changes after a version, or reload=True when that version is no longer in the log."""
    limit = _check_limit(request.limit, MAX_CHANGES_PAGE)
    changes, reached, more, reload = tree.changes_since(request.since_version, limit, RESULT_BYTES_BUDGET)
    return ChangesResult(
        version=reached,
        reload=reload,
        more=more,
        changes=[ChangeView(c.version, c.id, c.state, c.updated_at) for c in changes],
    )


def snapshot_view(tree: ReleaseTree, request: SnapshotRequest) -> SnapshotPage:
    """A page of all rows in tree order."""
    page = snapshot_result(tree, request)
    return SnapshotPage(
        version=page["version"], total=page["total"], rows=[list(r) for r in page["rows"]],
        next_cursor=page["next_cursor"],
    )


class SnapshotResult(TypedDict):
    """A SnapshotPage as ``snapshot_result`` answers it: rows as tuples."""

    version: int
    total: int
    rows: list[EntityRow]
    next_cursor: str | None


def snapshot_result(tree: ReleaseTree, request: SnapshotRequest) -> SnapshotResult:
    """The same page as a plain dict of tuples: what the query returns, so the SDK's JSON encoder does not deep-copy
    thousands of rows through ``dataclasses.asdict`` (a 4,000-row page encodes in ~1 ms instead of ~20 ms)."""
    limit = _check_limit(request.limit, MAX_SNAPSHOT_PAGE)
    total = len(tree.entities)
    start = parse_offset_cursor(request.cursor, total)
    rows = _within_budget(tree.row_slice(start, start + limit), row_json_size, SNAPSHOT_BYTES_BUDGET)
    next_cursor = offset_cursor(start + len(rows), total)
    return {"version": tree.version, "total": total, "rows": rows, "next_cursor": next_cursor}


def _check_limit(limit: int, maximum: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise ValueError(f"limit must be an integer from 1 to {maximum}, got {limit!r}")
    return limit


T = TypeVar("T")


def _within_budget(items: list[T], size_of: Callable[[T], int], budget: int = RESULT_BYTES_BUDGET) -> list[T]:
    """The longest prefix of ``items`` (at least one) whose JSON stays within ``budget``."""
    total = 0
    for index, item in enumerate(items):
        total += size_of(item)
        if total > budget and index > 0:
            return items[:index]
    return items


def _entity_json_size(entity: Entity) -> int:
    """About how many bytes an entity's EntityView takes in JSON."""
    counts = sum(12 + len(t) + sum(12 + len(s) for s in by_state) for t, by_state in entity.counts.items())
    state = entity.state or "null"
    return 110 + len(entity.id) + len(entity.parent or "") + len(state) + len(entity.updated_at or "") + counts
