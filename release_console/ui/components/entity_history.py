"""The details panel's "recent transitions" of one entity, from the mirror's change log (``tree.changes``).

The log is bounded (the newest changes_kept changes; a mirror's log starts at the version it loaded), so the list
says plainly when older transitions are no longer kept. Reading it walks the log backwards and stops after
MAX_SHOWN matches; it runs when the panel is drawn (a selection, or a change of the shown entity), never per tick.
"""

from __future__ import annotations

from nicegui import ui

from ...domain.tree import Change, ReleaseTree
from .badges import StateBadge
from .time_ago import TimeAgoLabel

MAX_SHOWN = 10


def recent_transitions(tree: ReleaseTree, entity_id: str, limit: int = MAX_SHOWN) -> list[Change]:
    """The entity's newest transitions still in the change log, newest first (at most ``limit``)."""
    found: list[Change] = []
    for change in reversed(tree.changes):
        if change.id == entity_id:
            found.append(change)
            if len(found) >= limit:
                break
    return found


def history_note(tree: ReleaseTree, shown: list[Change], limit: int = MAX_SHOWN) -> str:
    """What the list leaves out, said plainly."""
    if len(shown) >= limit:
        return f"The latest {limit} transitions; older ones are not shown."
    if tree.log_floor > 0:
        return (
            f"Transitions up to version {tree.log_floor} are no longer kept "
            f"(the change log keeps the newest {tree.changes_kept:,} changes since the console started watching)."
        )
    return "Every transition since the release started is shown."


def history_section(tree: ReleaseTree, entity_id: str) -> None:
    """The "Recent transitions" block of the details panel."""
    shown = recent_transitions(tree, entity_id)
    with ui.column().classes("w-full gap-1").mark("entity-history"):
        ui.label("Recent transitions").classes("text-sm font-bold")
        if not shown:
            ui.label("No transition recorded in the kept change log.").classes("text-sm opacity-70")
        for change in shown:
            with ui.row().classes("items-center gap-2 no-wrap text-sm").mark(f"transition {change.version}"):
                StateBadge(change.state)
                TimeAgoLabel(change.updated_at).classes("whitespace-nowrap")
                ui.label(f"v{change.version}").classes("text-xs opacity-70")
        ui.label(history_note(tree, shown)).classes("text-xs opacity-70").mark("history-note")
