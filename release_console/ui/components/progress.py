"""Progress bars: apps done out of apps total."""

from __future__ import annotations

from nicegui import ui


def progress_value(done: int, total: int) -> float:
    """Fraction done in 0..1 (1 for an empty node)."""
    return 1.0 if total <= 0 else min(1.0, max(0.0, done / total))


def progress_bar(done: int, total: int, *, failed: int = 0, width: str = "w-40") -> ui.linear_progress:
    """A bar with 'done/total' as its tooltip; red when any app failed."""
    bar = ui.linear_progress(progress_value(done, total), show_value=False, size="10px")
    bar.classes(f"{width} rounded").props(f"color={'red-7' if failed else 'green-7'} track-color=grey-4")
    bar.tooltip(f"{done}/{total} apps done")
    return bar


def update_progress(bar: ui.linear_progress, done: int, total: int, *, failed: int = 0) -> None:
    """Move an existing bar."""
    bar.set_value(progress_value(done, total))
    bar.props(f"color={'red-7' if failed else 'green-7'}")
