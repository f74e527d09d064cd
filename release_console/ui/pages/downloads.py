"""``/downloads/{release_id}?format=csv|json``: the release page's export buttons, for a signed-in browser.

Same answer as REST ``GET /api/v1/releases/{id}/export`` (answers/export.py: streamed, built once per mirror version);
the page guard admits only a valid console session, so no bearer token is needed in the browser.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import PlainTextResponse, Response
from nicegui import APIRouter

from ... import services
from ...answers.export import ExportFormat, export_response
from ...core.links import DOWNLOAD_PREFIX
from ...domain.ids import EntityId, EntityType, InvalidEntityId
from ...readpath.errors import ReadPathError

router = APIRouter()


async def download_release(
    request: Request, release_id: str, format: Annotated[ExportFormat, Query(description="csv or json")] = "json"
) -> Response:
    """The whole release as a CSV or JSON attachment (a plain-text error when it cannot be read)."""
    try:
        rid = str(EntityId.parse(release_id, expected=EntityType.RELEASE))
    except InvalidEntityId as exc:
        return PlainTextResponse(f"Cannot export: {exc}", status_code=422)
    try:
        user = getattr(request.state, "user", None)  # set by the page guard, which let the request in
        mirror = await services.running().mirrors.get(rid, user=user.username if user is not None else None)
        return await export_response(mirror, format)
    except ReadPathError as exc:
        return PlainTextResponse(f"Cannot export {rid}: {exc}", status_code=exc.status)


router.add_api_route(
    DOWNLOAD_PREFIX + "/{release_id}", download_release, methods=["GET"], include_in_schema=False
)
