"""GET /entities/{entity_id}: an entity wherever it is, looked up in the releases' shared mirrors."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from ...domain.ids import EntityType
from ...readpath.errors import EntityNotFound, ReadPathError
from ...readpath.mirror import ReleaseMirror
from ..deps import CurrentUser
from ..errors import ApiError, invalid
from ..reading import MirrorsDep, ReleaseListDep, entity_response, parse_id
from ..schemas import AmbiguousEntity, EntityResponse, ErrorResponse

MAX_SEARCHED_RELEASES = 50
"""At most this many releases (the newest) are searched for an entity that is not in a loaded mirror."""

router = APIRouter(
    prefix="/entities",
    tags=["entities"],
    responses={
        401: {"model": ErrorResponse},
        404: {"model": ErrorResponse, "description": "No release holds this entity"},
        409: {"model": AmbiguousEntity, "description": "More than one release holds this id; see candidates"},
        422: {"model": ErrorResponse, "description": "Malformed id"},
        503: {"model": ErrorResponse, "description": "Temporal or the worker cannot answer"},
    },
)


@router.get("/{entity_id}", response_model=EntityResponse, summary="Find an entity in any release")
async def locate_entity(
    entity_id: str, user: CurrentUser, mirrors: MirrorsDep, releases: ReleaseListDep
) -> EntityResponse:
    """The entity with its release and parent; 409 with the candidate releases when the id is in several."""
    eid = parse_id(entity_id)
    if is_release_id(eid):
        return entity_response(await mirrors.get(eid), eid)
    await releases.ensure_fresh()
    loaded = {m.release_id: m for m in mirrors.mirrors}
    others = [i.id for i in releases.items if i.id not in loaded][:MAX_SEARCHED_RELEASES]
    results = await asyncio.gather(*(mirrors.get(r) for r in others), return_exceptions=True)
    searched: list[ReleaseMirror] = list(loaded.values())
    problems: list[ReadPathError] = []
    for result in results:
        if isinstance(result, ReleaseMirror):
            searched.append(result)
        elif isinstance(result, ReadPathError):
            problems.append(result)
        elif isinstance(result, BaseException):
            raise result
    holders = sorted(m.release_id for m in searched if eid in m.tree.entities and not m.partial)
    if len(holders) > 1:
        raise ApiError(409, "ambiguous_entity", f"{eid} exists in {len(holders)} releases", candidates=holders)
    if holders:
        return entity_response(next(m for m in searched if m.release_id == holders[0]), eid)
    unavailable = [p for p in problems if p.status == 503]
    if unavailable and not searched:
        raise unavailable[0]
    note = f"; {len(problems)} release(s) could not be read" if problems else ""
    raise EntityNotFound(f"entity {eid} not found in any of {len(searched)} release(s){note}")


def is_release_id(entity_id: str) -> bool:
    """True for a release id (a release is its own release)."""
    return entity_id.startswith(f"{EntityType.RELEASE.value}:")


@router.get("/{entity_path:path}", include_in_schema=False)
async def unmatched_entity_path(entity_path: str, user: CurrentUser) -> None:
    """An id hiding a '/' (``app:..%2F..``): 422 with the reason, never a query."""
    parse_id(entity_path)
    raise invalid(f"entity id {entity_path[:60]!r} may not contain '/'", code="invalid_id")
