"""State badges and per-state count chips, coloured by state kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from nicegui import ui

from ...domain.states import state_meaning
from ..theme import state_color, state_rank


class StateBadge(ui.badge):
    """A badge showing a state in its kind's colour, its meaning on hover; ``set_state`` re-points it."""

    def __init__(self, state: str) -> None:
        super().__init__(state, color=state_color(state))
        self.classes("text-xs rc-isolate")
        self.state = state
        self.tip = ui.tooltip(state_meaning(state))  # beside the badge, aimed at it (as ``Element.tooltip`` does)
        self.tip.props["target"] = f"#{self.html_id}"

    def set_state(self, state: str) -> None:
        """Show another state (text, colour and meaning); nothing is sent when it did not change."""
        if state == self.state:
            return
        self.state = state
        self.set_text(state)
        self.props(f"color={state_color(state)}")
        self.tip.set_text(state_meaning(state))


def ordered_states(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Non-zero (state, count) pairs, failures first."""
    return sorted(((s, n) for s, n in counts.items() if n), key=lambda item: (state_rank(item[0]), item[0]))


def count_chips(
    counts: Mapping[str, int], on_click: Callable[[str], None] | None = None, *, marker: str | None = None
) -> None:
    """One small chip per state with its count (clickable when ``on_click`` is given; marked ``<marker> <state>``)."""
    with ui.row().classes("gap-1 items-center no-wrap"):
        for state, number in ordered_states(counts):
            chip = ui.chip(f"{number} {state}", color=state_color(state), text_color="white").props("dense square")
            chip.classes("text-xs m-0 rc-isolate")
            if marker:
                chip.mark(f"{marker} {state}")
            if on_click is not None:
                chip.props("clickable").on("click", lambda _, s=state: on_click(s))
                chip.tooltip(f"show only {state}")
