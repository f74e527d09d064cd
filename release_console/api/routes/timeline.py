"""GET /releases/{release_id}/timeline: the release's burn-up timeline, from the shared timeline feed."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ...contract.shapes import JsonObject
from ...domain.ids import EntityType
from ...domain.timeline import MAX_POINTS, burn_up
from ..deps import CurrentUser, running_mirrors
from ..errors import ApiError
from ..reading import ReleaseIdPath, parse_id
from ..schemas import ErrorResponse
from .releases import ERRORS

router = APIRouter(
    prefix="/releases",
    tags=["releases"],
    responses={  # the releases routes' table (401, 503), with what differs here
        **ERRORS,
        404: {"model": ErrorResponse, "description": "Unknown release, or its workflow has no timeline query"},
        422: {"model": ErrorResponse, "description": "Malformed id"},
        502: {"model": ErrorResponse, "description": "The release workflow answered with an invalid timeline"},
    },
)


class TimelinePointOut(BaseModel):
    """One point: when, the release version, apps per state and the burn-up series."""

    at: str
    version: int
    apps: dict[str, int]
    done: int = Field(description="Apps deployed, rolled back or cancelled (settled, not failed).")
    failed: int
    in_progress: int = Field(description="Apps deploying, verifying or rolling back.")
    total: int


class TimelineResponse(BaseModel):
    """The compact progress timeline of a release (at most ``max_points`` points, older ones thinned)."""

    release_id: str
    version: int | None = Field(description="Release version the timeline describes.")
    max_points: int
    points: list[TimelinePointOut]
    as_of: datetime | None = Field(description="When the console last read the timeline from the workflow.")
    stale: bool


@router.get(
    "/{release_id}/timeline",
    response_model=TimelineResponse,
    summary="A release's progress timeline (burn-up)",
    description=(
        "Points of (time, version, apps per state), oldest first, with the burn-up series (done, failed, "
        f"in progress). At most {MAX_POINTS} points: older ones are thinned as the release goes on. Read from the "
        "workflow's optional `timeline` query through one shared feed per release (refreshed at most every few "
        "seconds, and only when the release changed). 404 `timeline_not_supported` for a workflow without it."
    ),
)
async def get_timeline(release_id: ReleaseIdPath, user: CurrentUser) -> JsonObject:
    """The burn-up timeline of one release."""
    rid = parse_id(release_id, EntityType.RELEASE)
    mirror = await running_mirrors().get(rid, user=user.username)
    feed = mirror.timeline
    await feed.ensure_loaded()
    if feed.supported is False:
        raise ApiError(
            404, "timeline_not_supported", f"{rid}'s workflow does not implement the optional timeline query"
        )
    if feed.error is not None and feed.version is None:
        raise feed.error
    points = []
    for point in feed.points:
        series = burn_up(point)
        points.append(
            {
                "at": series.at,
                "version": series.version,
                "apps": point[2],
                "done": series.done,
                "failed": series.failed,
                "in_progress": series.in_progress,
                "total": series.total,
            }
        )
    return {
        "release_id": rid,
        "version": feed.version,
        "max_points": MAX_POINTS,
        "points": points,
        "as_of": feed.as_of,
        "stale": feed.error is not None or bool(mirror.stale),
    }
