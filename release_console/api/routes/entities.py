"""GET /entities/{entity_id}: an entity wherever it is, looked up in the releases' shared mirrors."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ...domain.ids import EntityType
from ...readpath.errors import EntityNotFound
from ...readpath.finder import MAX_SEARCHED_RELEASES, find_holders  # noqa: F401 (re-exported)
from ..answers import entity_body, json_response
from ..deps import CurrentUser, running_mirrors, running_release_list
from ..errors import ApiError, invalid
from ..reading import parse_id
from ..schemas import AmbiguousEntity, EntityResponse, ErrorResponse

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
async def locate_entity(entity_id: str, user: CurrentUser) -> Response:
    """The entity with its release and parent; 409 with the candidate releases when the id is in several.

    Releases already mirrored are searched in memory; the newest 50 others are asked with one ``entity`` query
    each (no mirror or poller is started for them; answers are remembered for 30 s). Only the release that holds
    the entity is then read through its shared mirror. An entity of an older release that nobody is watching
    answers 404: ask ``/releases/{release_id}/entities/{entity_id}`` when the release is known.
    """
    eid = parse_id(entity_id)
    mirrors, releases = running_mirrors(), running_release_list()
    if is_release_id(eid):
        mirror = await mirrors.get(eid, user=user.username)
        return json_response(entity_body(mirror, eid), mirror)
    result = await find_holders(mirrors, releases, eid, user=user.username)  # the header's search box's search
    holders, problems = result.holders, result.problems
    if len(holders) > 1:
        raise ApiError(409, "ambiguous_entity", f"{eid} exists in {len(holders)} releases", candidates=holders)
    if holders:
        mirror = await mirrors.get(holders[0], user=user.username)
        return json_response(entity_body(mirror, eid), mirror)
    unavailable = [p for p in problems if p.status == 503]
    if unavailable and len(unavailable) == result.others and not result.loaded:
        raise unavailable[0]
    note = f"; {len(problems)} release(s) could not be read" if problems else ""
    raise EntityNotFound(f"entity {eid} not found in any of {result.searched} release(s){note}")


def is_release_id(entity_id: str) -> bool:
    """True for a release id (a release is its own release)."""
    return entity_id.startswith(f"{EntityType.RELEASE.value}:")


@router.get("/{entity_path:path}", include_in_schema=False)
async def unmatched_entity_path(entity_path: str, user: CurrentUser) -> None:
    """An id hiding a '/' (``app:..%2F..``): 422 with the reason, never a query."""
    parse_id(entity_path)
    raise invalid(f"entity id {entity_path[:60]!r} may not contain '/'", code="invalid_id")
