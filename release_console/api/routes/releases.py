"""GET /releases, /releases/{release_id}, its entities, children and export: all read from the shared mirrors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from ...domain.ids import EntityType, entity_type_of
from ...domain.tree import percent
from ...readpath.release_list import InvalidCursor, ReleaseListItem, decode_cursor
from ...workflows.contract import offset_cursor
from ..deps import CurrentUser
from ..errors import ApiError, invalid
from ..reading import (
    Cursor,
    Expander,
    Limit,
    MirrorsDep,
    ReleaseListDep,
    StateFilter,
    entity_response,
    find_entity,
    freshness,
    node,
    parse_id,
    parse_offset,
    parse_state,
)
from ..schemas import (
    ChildrenResponse,
    EntityResponse,
    ErrorResponse,
    ExportResponse,
    ReleaseDetail,
    ReleaseListItemOut,
    ReleaseListResponse,
)

ERRORS = {
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    404: {"model": ErrorResponse, "description": "Unknown release or entity"},
    422: {"model": ErrorResponse, "description": "Malformed id, limit, cursor or state"},
    502: {"model": ErrorResponse, "description": "The release workflow answered with invalid data"},
    503: {"model": ErrorResponse, "description": "Temporal or the worker cannot answer (see Retry-After)"},
}
ReleaseId = Annotated[str, "full release id, e.g. release:rel-001"]

router = APIRouter(prefix="/releases", tags=["releases"], responses=ERRORS)  # type: ignore[arg-type]


@router.get("", response_model=ReleaseListResponse, summary="List releases, newest first")
async def list_releases(
    user: CurrentUser, releases: ReleaseListDep, limit: Limit = 50, cursor: Cursor = None, state: StateFilter = None
) -> ReleaseListResponse:
    """Releases from Temporal visibility (one shared list, refreshed every few seconds), with cursor paging."""
    wanted = parse_state(state)
    try:
        if cursor:
            decode_cursor(cursor)  # a forged cursor is refused before it costs a Temporal call
        await releases.ensure_fresh()
        items, next_cursor = releases.page(limit, cursor, wanted)
    except InvalidCursor as exc:
        raise invalid(str(exc), code="invalid_cursor") from None
    return ReleaseListResponse(
        items=[_list_item(i) for i in items],
        next_cursor=next_cursor,
        as_of=releases.as_of,
        stale=releases.error is not None,
        stale_reason=releases.error.message if releases.error else None,
    )


@router.get("/{release_id}", response_model=ReleaseDetail, summary="A release with its hierarchy")
async def get_release(
    release_id: str,
    user: CurrentUser,
    mirrors: MirrorsDep,
    depth: Annotated[int, Query(ge=0, le=4, description="Levels below the release to include (4 = down to apps).")] = 4,
    limit: Annotated[int, Query(ge=1, le=1000, description="Children shown per node; the rest via next_cursor.")] = 100,
) -> ReleaseDetail:
    """The release, each node with id, state, updated_at and rollup counts, down to ``depth`` levels."""
    rid = parse_id(release_id, EntityType.RELEASE)
    mirror = await mirrors.get(rid)
    tree = mirror.tree
    root = tree.root
    expander = Expander(tree, limit)
    children, next_cursor = expander.children(root, depth)
    if children is None:
        children, next_cursor = [], offset_cursor(0, len(root.children))
    done, total = tree.progress()
    return ReleaseDetail(
        id=root.id,
        state=root.state,
        status=mirror.status,
        updated_at=mirror.updated_at,
        counts={t: dict(s) for t, s in root.counts.items()},
        progress=percent(done, total),
        apps_total=total,
        apps_done=done,
        entity_count=len(tree.entities),
        child_count=len(root.children),
        children=children,
        next_cursor=next_cursor,
        depth=depth,
        truncated=expander.truncated,
        partial=mirror.partial,
        final_summary=mirror.final_summary,
        **freshness(mirror),
    )


@router.get("/{release_id}/entities/{entity_id}", response_model=EntityResponse, summary="One entity of a release")
async def get_entity(release_id: str, entity_id: str, user: CurrentUser, mirrors: MirrorsDep) -> EntityResponse:
    """The entity's state, rollups, parent and path from the release."""
    rid = parse_id(release_id, EntityType.RELEASE)
    eid = parse_id(entity_id)
    mirror = await mirrors.get(rid)
    return entity_response(mirror, eid)


@router.get(
    "/{release_id}/entities/{entity_id}/children", response_model=ChildrenResponse, summary="A page of children"
)
async def get_children(
    release_id: str,
    entity_id: str,
    user: CurrentUser,
    mirrors: MirrorsDep,
    limit: Limit = 100,
    cursor: Cursor = None,
    state: StateFilter = None,
) -> ChildrenResponse:
    """Children in plan order, optionally only those in one state."""
    rid = parse_id(release_id, EntityType.RELEASE)
    eid = parse_id(entity_id)
    wanted = parse_state(state)
    mirror = await mirrors.get(rid)
    parent = find_entity(mirror, eid)
    kids = mirror.tree.children_of(parent.id, wanted)
    start = parse_offset(cursor, len(kids))
    page = kids[start : start + limit]
    return ChildrenResponse(
        release_id=rid,
        parent_id=parent.id,
        items=[node(k) for k in page],
        total=len(kids),
        next_cursor=offset_cursor(start + len(page), len(kids)),
        **freshness(mirror),
    )


@router.get(
    "/{release_id}/export",
    summary="Export every entity as JSON or CSV",
    response_model=ExportResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_release(
    release_id: str,
    user: CurrentUser,
    mirrors: MirrorsDep,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> StreamingResponse:
    """All entities (id, type, parent, state, updated_at), parents before children, streamed."""
    rid = parse_id(release_id, EntityType.RELEASE)
    mirror = await mirrors.get(rid)
    rows = list(mirror.tree.rows())
    fresh = freshness(mirror)
    name = rid.replace(":", "-")
    if format == "csv":
        headers = {
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "X-Version": str(mirror.version),
            "X-As-Of": fresh["as_of"].isoformat(),  # CSV has no header block: freshness travels in headers
        }
        return StreamingResponse(_csv(rows), media_type="text/csv", headers=headers)
    headers = {"Content-Disposition": f'attachment; filename="{name}.json"'}
    return StreamingResponse(_json(rid, rows, fresh), media_type="application/json", headers=headers)


def _list_item(item: ReleaseListItem) -> ReleaseListItemOut:
    return ReleaseListItemOut(
        id=item.id,
        state=item.state,
        status=item.status,
        updated_at=item.updated_at,
        counts=item.counts,
        progress=item.progress,
        apps_total=item.apps_total,
        apps_done=item.apps_done,
        version=item.version,
        start_time=item.start_time,
        close_time=item.close_time,
    )


def _csv(rows: list) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "type", "parent", "state", "updated_at"])
    for index, (entity_id, parent, state, updated_at) in enumerate(rows, 1):
        writer.writerow([entity_id, entity_type_of(entity_id).value, parent or "", state, updated_at or ""])
        if index % 2000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json(release_id: str, rows: list, fresh: dict) -> Iterator[str]:
    head = {"release_id": release_id, **fresh, "as_of": fresh["as_of"].isoformat()}
    yield json.dumps(head)[:-1] + ', "entities": ['
    for index, (entity_id, parent, state, updated_at) in enumerate(rows):
        kind = entity_type_of(entity_id).value
        row = {"id": entity_id, "type": kind, "parent": parent, "state": state, "updated_at": updated_at}
        yield ("," if index else "") + json.dumps(row)
    yield "]}"


@router.get("/{release_path:path}", include_in_schema=False)
async def unmatched_release_path(release_path: str, user: CurrentUser) -> None:
    """Paths the routes above do not match, e.g. ids hiding a '/' (``release:..%2F..``): 422 or 404, never a query."""
    parts = release_path.split("/")
    parse_id(parts[0], EntityType.RELEASE)
    if len(parts) >= 3 and parts[1] == "entities":
        parse_id(parts[2])
        if len(parts) > 4 or (len(parts) == 4 and parts[3] != "children"):
            raise invalid(f"entity id {'/'.join(parts[2:])[:60]!r} may not contain '/'", code="invalid_id")
    raise ApiError(404, "not_found", f"no such resource: /releases/{release_path[:80]}")
