"""The final summary of a closed release: the compact summary its workflow left in the memo, readable at a glance.

The memo comes from Temporal, so every field is checked before use; fields of the wrong type are left out.
"""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui

from .badges import StateBadge, count_chips
from .progress import ProgressBar
from .time_ago import exact_time, time_ago

MAX_TYPES = 8
MAX_STATES = 20


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def memo_counts(summary: Mapping[str, object]) -> dict[str, dict[str, int]]:
    """``{type: {state: n}}`` from the memo, keeping only well-formed entries."""
    counts = summary.get("counts")
    if not isinstance(counts, Mapping):
        return {}
    result: dict[str, dict[str, int]] = {}
    for type_name, by_state in list(counts.items())[:MAX_TYPES]:
        if isinstance(type_name, str) and isinstance(by_state, Mapping):
            kept = {str(s)[:64]: n for s, n in list(by_state.items())[:MAX_STATES] if _int(n)}
            if kept:
                result[type_name[:32]] = kept
    return result


def final_summary_card(summary: Mapping[str, object], status: str) -> ui.card:
    """A card with the release's last state, apps done, entity count, last change and counts per type."""
    with ui.card().classes("w-full gap-2").mark("final-summary") as card:
        with ui.row().classes("items-center gap-2"):
            ui.icon("summarize")
            ui.label(f"Final summary (workflow {status})").classes("text-subtitle1 font-bold")
            state = summary.get("state")
            if isinstance(state, str):
                StateBadge(state[:64]).mark("final-state")
        done, total = _int(summary.get("apps_done")), _int(summary.get("apps_total"))
        with ui.grid(columns="auto 1fr").classes("gap-x-3 gap-y-1 text-sm items-center"):
            if done is not None and total is not None:
                ui.label("Apps done").classes("opacity-70")
                with ui.row().classes("items-center gap-2"):
                    ProgressBar(done, total, width="w-32")
                    ui.label(f"{done}/{total}").mark("final-apps")
            entities = _int(summary.get("entity_count"))
            if entities is not None:
                ui.label("Entities").classes("opacity-70")
                ui.label(str(entities))
            updated = summary.get("updated_at")
            if isinstance(updated, str):
                ui.label("Last change").classes("opacity-70")
                ui.label(f"{exact_time(updated)} ({time_ago(updated)})")
        for type_name, by_state in memo_counts(summary).items():
            with ui.row().classes("items-center gap-2").mark(f"final-counts {type_name}"):
                ui.label(f"{type_name}s").classes("text-xs w-14 opacity-70")
                count_chips(by_state)
    return card
