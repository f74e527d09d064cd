"""/admin/audit: the latest audit entries, filtered by user and action (admins only).

The entries come from this instance's audit file in DATA_DIR and its rotated copies (the current file first, then the
rotated ones newest first). ``runtime.audit.read_entries`` reads each file backwards, a 64 KiB block at a time from its
end, and stops once LIMIT entries matched: without a filter that is a block or two, but a filter that matches rarely
reads every file to its start (up to the current file and RETENTION rotated files of ROTATION each, about 110 MB).
So it runs in a worker thread (``run.io_bound``), never on the event loop that serves every other page.
"""

from __future__ import annotations

from nicegui import APIRouter, run, ui

from ... import services
from ...core.config import Settings
from ...runtime.audit import read_entries
from ..frame import frame
from .admin_users import admin_only, still_admin

router = APIRouter()

LIMIT = 200
COLUMNS = [
    {"name": name, "label": name.replace("_", " ").capitalize(), "field": name, "align": "left"}
    for name in ("time", "user", "role", "action", "target", "outcome", "client", "request_id")
]


async def load_rows(settings: Settings, user: str, action: str) -> list[dict]:
    """Table rows of the latest matching entries, read off the event loop."""
    entries = await run.io_bound(
        read_entries, settings, limit=LIMIT, user=user.strip() or None, action=action.strip() or None
    )
    # io_bound returns None when the app is shutting down
    return [{**{c["field"]: e.get(c["field"]) for c in COLUMNS}, "key": i} for i, e in enumerate(entries or [])]


@router.page("/admin/audit")
async def admin_audit_page(user: str = "", action: str = "") -> None:
    """Newest first; the user filter matches exactly, the action filter by prefix (e.g. ``login``)."""
    if admin_only("Audit log") is None:
        return
    settings = services.running().settings

    async def apply() -> None:
        if still_admin("audit.read", "Audit log") is None:
            return
        table.rows = await load_rows(settings, user_filter.value or "", action_filter.value or "")

    with frame("Audit log"):
        with ui.row().classes("items-end gap-2"):
            user_filter = ui.input("User", value=user).mark("filter-user")
            action_filter = ui.input("Action", value=action).mark("filter-action")
            user_filter.on("keydown.enter", apply)
            action_filter.on("keydown.enter", apply)
            ui.button("Filter", icon="filter_list", on_click=apply).mark("apply-filter")
            ui.button("Refresh", icon="refresh", on_click=apply).props("flat")
        ui.label(f"Latest {LIMIT} entries, newest first (rotated audit files included).").classes("text-caption")
        table = ui.table(columns=COLUMNS, rows=[], row_key="key").classes("w-full rc-wrap-anywhere").mark("audit-table")
        table.props("dense wrap-cells")
    await apply()
