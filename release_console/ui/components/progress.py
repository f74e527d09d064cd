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


def progress_label(done: int, total: int) -> str:
    """The bar's accessible name, as screen readers say it."""
    return f"{done} of {total} apps done"


def _color(failed: int) -> str:
    return "red-7" if failed else "green-7"


class ProgressBar(ui.linear_progress):
    """A bar with 'done/total (n%)' as its tooltip and 'done of total apps done' as its accessible name; red when
    any app failed. ``set_progress`` moves it."""

    def __init__(self, done: int, total: int, *, failed: int = 0, width: str = "w-40") -> None:
        super().__init__(percent(done, total) / 100, show_value=False, size="10px")
        self.classes(f"{width} rounded").props(f"color={_color(failed)} track-color=grey-4")
        self.props["aria-label"] = progress_label(done, total)
        with self:
            self.tip = ui.tooltip(_tooltip(done, total))

    def set_progress(self, done: int, total: int, failed: int = 0) -> None:
        """Move the bar and its tooltip; switch colour when failures appear or go away."""
        self.set_value(percent(done, total) / 100)
        if self.props.get("aria-label") != (label := progress_label(done, total)):
            self.props["aria-label"] = label
            self.update()
        color = _color(failed)
        if self.props.get("color") != color:
            self.props(f"color={color}")
        self.tip.set_text(_tooltip(done, total))
