"""GET /releases, /releases/{release_id}, its entities, children and export: all read from the shared mirrors."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from ...answers.export import export_response
from ...answers.release import ChildrenParams, DetailParams, build_children, build_detail, entity_body
from ...domain.ids import EntityType
from ...readpath.release_list import InvalidCursor, ReleaseListItem, decode_cursor
from ..deps import CurrentUser, running_mirrors, running_release_list
from ..errors import ApiError, invalid
from ..reading import (
    DEFAULT_ANSWER_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    MAX_PAGE,
    Cursor,
    EntityIdPath,
    Limit,
    OffsetCursor,
    ReleaseIdPath,
    StateFilter,
    StatusFilter,
    parse_id,
    parse_offset,
    parse_state,
    parse_status,
)
from ..responses import json_response
from ..schemas import (
    ChildrenResponse,
    EntityResponse,
    ErrorResponse,
    ExportResponse,
    ReleaseDetail,
    ReleaseListItemOut,
    ReleaseListResponse,
    Responses,
)

ERRORS: Responses = {  # FastAPI's ``responses`` type
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    404: {"model": ErrorResponse, "description": "Unknown release or entity"},
    422: {"model": ErrorResponse, "description": "Malformed id, limit, cursor, state or status"},
    429: {"model": ErrorResponse, "description": "This user passed a cap (`quota_exceeded`, see Retry-After)"},
    502: {"model": ErrorResponse, "description": "The release workflow answered with invalid data"},
    503: {"model": ErrorResponse, "description": "Temporal or the worker cannot answer (see Retry-After)"},
}
DEFAULT_LIMIT = 100
"""Children per node of a release answer with an explicit ``depth`` and no ``limit``."""
router = APIRouter(prefix="/releases", tags=["releases"], responses=ERRORS)


@router.get("", response_model=ReleaseListResponse, summary="List releases, newest first")
async def list_releases(
    user: CurrentUser,
    limit: Limit = 50,
    cursor: Cursor = None,
    state: StateFilter = None,
    status: StatusFilter = None,
) -> ReleaseListResponse:
    """Releases from Temporal visibility (one shared list, refreshed every few seconds), with cursor paging."""
    wanted = parse_state(state)
    wanted_status = parse_status(status)
    releases = running_release_list()
    try:
        if cursor:
            decode_cursor(cursor)  # a forged cursor is refused before it costs a Temporal call
        await releases.ensure_fresh()
        items, next_cursor = releases.page(limit, cursor, wanted, wanted_status)
    except InvalidCursor as exc:
        raise invalid(str(exc), code="invalid_cursor") from None
    return ReleaseListResponse(
        items=[_list_item(i) for i in items],
        next_cursor=next_cursor,
        as_of=releases.as_of,
        stale=releases.error is not None,
        stale_reason=releases.error.message if releases.error else None,
    )


@router.get(
    "/{release_id}",
    response_model=ReleaseDetail,
    summary="A release with its hierarchy",
    description=(
        "The release with rollups, and its hierarchy expanded breadth-first (every wave before any cluster).\n\n"
        "**Without `depth`** the whole hierarchy comes back when its nodes fit in "
        f"{DEFAULT_ANSWER_BYTES // 1024} KiB (the answer stays under 64 KiB); a larger release is expanded "
        f"breadth-first up to that bound, with `truncated: true`. **With `depth`** (0–4) up to {MAX_NODES} nodes "
        "are expanded, `limit` children per node (`truncated: true` when the node budget stopped it).\n\n"
        "The one way on from any answer: every node whose children are not all shown has a `next_cursor` for "
        "`GET /releases/{id}/entities/{node}/children?cursor=…` (`o:0` with `children: null` when none is shown); "
        "or read everything with `/export`.\n\n"
        "Nodes the console could not read (their row broke the query contract, or an ancestor's did) are kept with "
        "`state: null` and `error` (why), and count in no rollup; `unreadable` counts them, `unplaced` counts rows "
        "that could not be placed at all (no valid id), and `problems` describes the first ones. Only a release "
        "whose own node cannot be read answers 502."
    ),
)
async def get_release(
    release_id: ReleaseIdPath,
    user: CurrentUser,
    depth: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_DEPTH,
            description="Levels below the release (4 = down to apps). Unset: everything that fits in 60 KiB.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE,
            description="Children shown per node; the rest via next_cursor. Unset: 100 with `depth`, else only the "
            "60 KiB bound limits them.",
        ),
    ] = None,
) -> Response:
    """The release, each node with id, state, updated_at and rollup counts, down to ``depth`` levels."""
    rid = parse_id(release_id, EntityType.RELEASE)
    mirror = await running_mirrors().get(rid, user=user.username)
    if depth is None:
        params = DetailParams(MAX_DEPTH, limit or MAX_PAGE, MAX_NODES, DEFAULT_ANSWER_BYTES)
    else:
        params = DetailParams(depth, limit or DEFAULT_LIMIT, MAX_NODES, None)
    body = await mirror.answers.get(params, lambda: build_detail(mirror, params))
    return json_response(body, mirror)


@router.get("/{release_id}/entities/{entity_id}", response_model=EntityResponse, summary="One entity of a release")
async def get_entity(release_id: ReleaseIdPath, entity_id: EntityIdPath, user: CurrentUser) -> Response:
    """The entity's state, rollups, parent and path from the release."""
    rid = parse_id(release_id, EntityType.RELEASE)
    eid = parse_id(entity_id)
    mirror = await running_mirrors().get(rid, user=user.username)
    return json_response(entity_body(mirror, eid), mirror)


@router.get(
    "/{release_id}/entities/{entity_id}/children", response_model=ChildrenResponse, summary="A page of children"
)
async def get_children(
    release_id: ReleaseIdPath,
    entity_id: EntityIdPath,
    user: CurrentUser,
    limit: Limit = 100,
    cursor: OffsetCursor = None,
    state: StateFilter = None,
) -> Response:
    """Children in plan order, optionally only those in one state."""
    rid = parse_id(release_id, EntityType.RELEASE)
    eid = parse_id(entity_id)
    wanted = parse_state(state)
    mirror = await running_mirrors().get(rid, user=user.username)
    parent = mirror.entity(eid)
    total = len(parent.children) if wanted is None else len(mirror.tree.children_of(parent.id, wanted))
    params = ChildrenParams(parent.id, wanted, parse_offset(cursor, total), limit)
    body = await mirror.answers.get(params, lambda: build_children(mirror, params))
    return json_response(body, mirror)


@router.get(
    "/{release_id}/export",
    summary="Export every entity as JSON or CSV",
    response_model=ExportResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_release(
    release_id: ReleaseIdPath,
    user: CurrentUser,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> StreamingResponse:
    """All entities (id, type, parent, state, updated_at), parents before children, streamed.

    CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are prefixed with ``'``.
    """
    rid = parse_id(release_id, EntityType.RELEASE)
    mirror = await running_mirrors().get(rid, user=user.username)
    return await export_response(mirror, format)  # shared with the release page's download buttons


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
        workflow_type=item.workflow_type,
    )


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
