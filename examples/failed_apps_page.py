"""Example: a page inside the console's frame listing one release's failed apps, read from the shared mirror."""

from nicegui import APIRouter, ui

from release_console import services
from release_console.domain.ids import EntityId, EntityType, InvalidEntityId
from release_console.readpath.errors import ReadPathError
from release_console.ui.components.badges import StateBadge
from release_console.ui.components.errors import error_card
from release_console.ui.frame import frame

router = APIRouter()


@router.page("/examples/failed/{release_id}")
async def failed_apps(release_id: str) -> None:
    with frame("Failed apps"):
        try:
            EntityId.parse(release_id, expected=EntityType.RELEASE)  # URL input: check it before using it
        except InvalidEntityId as exc:
            error_card("invalid_id", str(exc))
            return
        await ui.context.client.connected()
        try:
            mirror = await services.running().mirrors.get(release_id)  # shared: no extra Temporal queries
        except ReadPathError as exc:
            error_card(exc.code, str(exc))
            return
        failed = [e for e in mirror.tree.entities.values() if e.type is EntityType.APP and e.state == "failed"]
        ui.label(f"{len(failed)} failed apps in {release_id}")
        for app in failed[:200]:
            with ui.row().classes("items-center"):
                ui.link(app.id, f"/releases/{release_id}?node={app.id}")
                StateBadge(app.state)
