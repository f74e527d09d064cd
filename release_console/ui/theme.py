"""Colours of the console: one per state kind, used by badges, progress bars and the tree."""

from __future__ import annotations

from ..domain.states import StateKind, state_kind

PRIMARY = "#1e40af"

KIND_COLORS: dict[StateKind, str] = {
    StateKind.WAITING: "grey-6",
    StateKind.ACTIVE: "blue-7",
    StateKind.SUCCEEDED: "green-7",
    StateKind.FAILED: "red-7",
    StateKind.STOPPED: "amber-9",
    StateKind.UNKNOWN: "purple-6",
}
"""Quasar colour names by state kind."""

KIND_ORDER: tuple[StateKind, ...] = (
    StateKind.FAILED,
    StateKind.ACTIVE,
    StateKind.WAITING,
    StateKind.STOPPED,
    StateKind.UNKNOWN,
    StateKind.SUCCEEDED,
)
"""Failure first: the order in which states are listed and branches are sorted."""


def state_color(state: str) -> str:
    """Quasar colour of a state."""
    return KIND_COLORS[state_kind(state)]


def state_rank(state: str) -> int:
    """Sort key putting failures first and settled states last."""
    return KIND_ORDER.index(state_kind(state))


def apply_theme() -> None:
    """Set the console's brand colours on the current page."""
    from nicegui import ui

    ui.colors(primary=PRIMARY)
