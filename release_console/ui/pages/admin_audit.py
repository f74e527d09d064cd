"""/admin/audit: the latest audit entries, filtered by user and action (admins only)."""

from __future__ import annotations

from nicegui import APIRouter, ui

from ... import services as services_module
from ...core.audit import read_entries
from ..frame import frame
from .admin_users import admin_only

router = APIRouter()

LIMIT = 200
COLUMNS = [
    {"name": name, "label": name.replace("_", " ").capitalize(), "field": name, "align": "left"}
    for name in ("time", "user", "role", "action", "target", "outcome", "client", "request_id")
]


@router.page("/admin/audit")
def admin_audit_page(user: str = "", action: str = "") -> None:
    """Newest first; the user filter matches exactly, the action filter by prefix (e.g. ``login``)."""
    if admin_only("Audit log") is None:
        return
    settings = services_module.current().settings

    def rows() -> list[dict]:
        entries = read_entries(settings, limit=LIMIT, user=user_filter.value.strip() or None,
                               action=action_filter.value.strip() or None)
        return [{**{c["field"]: e.get(c["field"]) for c in COLUMNS}, "key": i} for i, e in enumerate(entries)]

    def apply() -> None:
        table.rows = rows()

    with frame("Audit log"):
        with ui.row().classes("items-end gap-2"):
            user_filter = ui.input("User", value=user).mark("filter-user")
            action_filter = ui.input("Action", value=action).mark("filter-action")
            user_filter.on("keydown.enter", apply)
            action_filter.on("keydown.enter", apply)
            ui.button("Filter", icon="filter_list", on_click=apply).mark("apply-filter")
            ui.button("Refresh", icon="refresh", on_click=apply).props("flat")
        ui.label(f"Latest {LIMIT} entries, newest first.").classes("text-caption")
        table = ui.table(columns=COLUMNS, rows=rows(), row_key="key").classes("w-full").mark("audit-table")
        table.props("dense wrap-cells")

