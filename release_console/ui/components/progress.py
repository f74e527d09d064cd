"""Progress bars: apps done out of apps total (the domain's ``percent``), red when any app failed."""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui

from ...domain.states import StateKind, state_kind
from ...domain.tree import percent


def failed_apps(apps_by_state: Mapping[str, int]) -> int:
    """How many of ``{state: n}`` apps are in a failure state."""
    return sum(n for state, n in apps_by_state.items() if state_kind(state) is StateKind.FAILED)


def _tooltip(done: int, total: int) -> str:
    return f"{done}/{total} apps done ({percent(done, total)}%)"


def progress_bar(done: int, total: int, *, failed: int = 0, width: str = "w-40") -> ui.linear_progress:
    """A bar with 'done/total (n%)' as its tooltip; red when any app failed."""
    bar = ui.linear_progress(percent(done, total) / 100, show_value=False, size="10px")
    bar.classes(f"{width} rounded").props(f"color={'red-7' if failed else 'green-7'} track-color=grey-4")
    with bar:
        ui.tooltip(_tooltip(done, total))
    return bar


def update_progress(bar: ui.linear_progress, done: int, total: int, *, failed: int = 0) -> None:
    """Move an existing bar and its tooltip."""
    bar.set_value(percent(done, total) / 100)
    bar.props(f"color={'red-7' if failed else 'green-7'}")
    for child in bar.default_slot.children:
        if isinstance(child, ui.tooltip):
            child.set_text(_tooltip(done, total))
