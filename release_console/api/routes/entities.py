"""GET /entities/{id}: an entity wherever it is, found through the entity index and read from its release's mirror."""

from __future__ import annotations

from datetime import UTC
from typing import TypedDict

from fastapi import APIRouter
from fastapi.responses import Response

from ...answers.release import dumps, entity_body
from ...domain.ids import EntityType
from ...readpath.entity_index import IndexProgress
from ...readpath.finder import Holder, find_holders, mirrored_holder
from ..deps import CurrentUser, running_mirrors, running_services
from ..errors import ApiError, invalid
from ..reading import EntityIdPath, parse_id
from ..responses import json_response
from ..schemas import AmbiguousEntity, EntityNotLocated, ErrorResponse, LocatedEntity

router = APIRouter(
    prefix="/entities",
    tags=["entities"],
    responses={
        401: {"model": ErrorResponse},
        404: {"model": EntityNotLocated, "description": "No indexed release holds this entity"},
        409: {"model": AmbiguousEntity, "description": "More than one release holds this id; see candidates"},
        422: {"model": ErrorResponse, "description": "Malformed id"},
        429: {"model": ErrorResponse, "description": "This user passed a cap (`quota_exceeded`, see Retry-After)"},
        502: {"model": ErrorResponse, "description": "The release workflow answered with invalid data"},
        503: {"model": ErrorResponse, "description": "Temporal or the worker cannot answer"},
    },
)


@router.get("/{entity_id}", response_model=LocatedEntity, summary="Find an entity in any release")
async def locate_entity(entity_id: EntityIdPath, user: CurrentUser) -> Response:
    """The entity with its release and parent; 409 with the candidate releases when the id is in several.

    Every release in visibility is searched through the entity index (no Temporal call per lookup). The release
    that holds the entity is then read through its shared mirror, so ``entity`` is current. ``holders`` lists every
    holder with the entity's state there: current for releases the console follows and releases closed when
    indexed, else as indexed (``current: false``, ``as_of`` = when; read ``/releases/{release_id}/entities/{id}``
    for the current state). Until the index has read every release, ``complete`` is false and a 404 may still be
    found later (``indexed`` of ``total`` releases; ``unreadable`` could not be read and are retried).
    """
    eid = parse_id(entity_id)
    mirrors, index = running_mirrors(), running_services().entity_index
    if is_release_id(eid):
        mirror = await mirrors.get(eid, user=user.username)
        holder = mirrored_holder(mirror, eid)
        return json_response(entity_body(mirror, eid) + _located_tail([holder], index.progress()), mirror)
    result = await find_holders(mirrors, index, eid, user=user.username)
    coverage = _coverage(result.progress)
    if len(result.holders) > 1:
        raise ApiError(409, "ambiguous_entity", f"{eid} exists in {len(result.holders)} releases",
                       candidates=[h.release_id for h in result.holders],
                       holders=[_holder_json(h) for h in result.holders], **coverage)
    if not result.holders:
        progress = result.progress
        so_far = "" if progress.complete else f" (still indexing: {progress.indexed} of {progress.total} indexed)"
        raise ApiError(404, "entity_not_found", f"entity {eid} not found in any release{so_far}", **coverage)
    mirror = await mirrors.get(result.holders[0].release_id, user=user.username)
    holder = mirrored_holder(mirror, eid) if eid in mirror.tree.entities else result.holders[0]
    return json_response(entity_body(mirror, eid) + _located_tail([holder], result.progress), mirror)


def is_release_id(entity_id: str) -> bool:
    """True for a release id (a release is its own release)."""
    return entity_id.startswith(f"{EntityType.RELEASE.value}:")


class _Coverage(TypedDict):
    complete: bool
    indexed: int
    total: int
    unreadable: int


def _coverage(progress: IndexProgress) -> _Coverage:
    """The IndexCoverage fields."""
    return {"complete": progress.complete, "indexed": progress.indexed, "total": progress.total,
            "unreadable": progress.unreadable}


def _holder_json(holder: Holder) -> dict[str, object]:
    as_of = holder.as_of.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"release_id": holder.release_id, "state": holder.state, "as_of": as_of,
            "current": holder.current, "source": holder.source}


def _located_tail(holders: list[Holder], progress: IndexProgress) -> bytes:
    """``,"holders":[…],"complete":…`` added to an open EntityResponse body."""
    return b"," + dumps({"holders": [_holder_json(h) for h in holders], **_coverage(progress)})[1:-1]


@router.get("/{entity_path:path}", include_in_schema=False)
async def unmatched_entity_path(entity_path: str, user: CurrentUser) -> None:
    """An id hiding a '/' (``app:..%2F..``): 422 with the reason, never a query."""
    parse_id(entity_path)
    raise invalid(f"entity id {entity_path[:60]!r} may not contain '/'", code="invalid_id")
