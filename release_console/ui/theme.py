"""Colours of the console: one per state kind, used by badges, progress bars and the tree; and its style sheet."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ..domain.states import StateKind, state_kind

PRIMARY = "#1e40af"

KIND_COLORS: dict[StateKind, str] = {
    StateKind.WAITING: "grey-8",
    StateKind.ACTIVE: "blue-9",
    StateKind.SUCCEEDED: "green-9",
    StateKind.FAILED: "red-9",
    StateKind.STOPPED: "brown-6",
    StateKind.UNKNOWN: "purple-6",
}
"""Quasar colour names by state kind: backgrounds of white state text, each at least 5:1 against it (whatever the
theme, the text sits on its badge). The state's name is always written on the badge, so colour is never the only
sign."""

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


@cache
def theme_css() -> str:
    """The console's style sheet (contrast fixes for both themes, the page title)."""
    return (Path(__file__).parent / "theme.css").read_text(encoding="utf-8")


def apply_theme() -> None:
    """Set the console's brand colours and style sheet on the current page."""
    from nicegui import ui

    ui.colors(primary=PRIMARY)
    ui.add_css(theme_css())
