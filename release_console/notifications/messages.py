"""What a notification says: release, event, counts, the first failing nodes and links; short text for chat and
e-mail, the same content as a JSON document for webhooks."""

from __future__ import annotations

from ..contract.shapes import JsonObject
from ..core.config import Settings
from ..core.links import release_path, temporal_workflow_url
from ..readpath.release_list import ReleaseListItem
from ..workflows.delivery import Message
from .events import FIRST_FEW, FOLLOW_UP, Event, failed_count
from .models import EVENT_MEANINGS

FAILURE_EVENTS = frozenset({"release.failed", "release.closed", "release.stalled", "wave.failed", "app.failed"})


def compose(event: Event, item: ReleaseListItem | None, settings: Settings) -> Message:
    """The message of an event (``item``: the release's row when the console has it, for the counts)."""
    counts = _counts(item)
    console = f"{settings.PUBLIC_URL.rstrip('/')}{release_path(event.release_id)}" if settings.PUBLIC_URL else None
    temporal = temporal_workflow_url(settings.temporal_ui_url, settings.TEMPORAL_NAMESPACE, event.release_id)
    failing = list(event.failing[:FIRST_FEW])
    lines = [event.headline]
    if counts:
        lines.append(f"Apps: {counts['failed']} failed, {counts['done']} done of {counts['total']}.")
    if failing:
        more = len(event.failing) - len(failing)
        lines.append("Failing: " + ", ".join(failing) + (f" and {more} more" if more > 0 else "") + ".")
    lines.extend(link for link in (console and f"Console: {console}", temporal and f"Temporal: {temporal}") if link)
    document: JsonObject = {
        "event": event.name, "meaning": EVENT_MEANINGS.get(event.name, ""), "release": event.release_id,
        "summary": event.headline, "state": item.state if item else None, "status": item.status if item else None,
        "counts": counts, "failing": failing, "failing_total": len(event.failing), "scope": event.scope,
        "follow_up": event.marker.startswith(FOLLOW_UP),
        "console_url": console, "temporal_url": temporal,
    }
    return Message(title=f"[{event.name}] {event.release_id}", text="\n".join(lines), document=document,
                   failure=event.name in FAILURE_EVENTS)


def _counts(item: ReleaseListItem | None) -> dict[str, int] | None:
    if item is None:
        return None
    return {"failed": failed_count(item, "app"), "done": item.apps_done, "total": item.apps_total}
