"""The "updated Ns ago" indicator: plain while data is fresh, a warning when it is older than a few intervals."""

from __future__ import annotations

from datetime import UTC, datetime

from nicegui import ui

from .time_ago import age_seconds, format_duration

STALE_INTERVALS = 4
MIN_STALE_SECONDS = 5.0


def stale_after(interval: float) -> float:
    """Seconds after which data counts as stale."""
    return max(MIN_STALE_SECONDS, STALE_INTERVALS * interval)


class FreshnessLabel:
    """A chip saying how old the shown data is."""

    def __init__(self, interval: float) -> None:
        self.limit = stale_after(interval)
        self.chip = ui.chip("", icon="sync").props("dense outline").classes("text-xs").mark("freshness")
        self.stale: bool | None = None
        """None until the first update, so that one always sets the colour (the chip starts with Quasar's)."""

    def final(self, status: str, *, version: int | None = None, as_of: datetime | None = None) -> None:
        """The data will not change any more: say so instead of counting seconds."""
        self.chip.set_text(f"final state (workflow {status})")
        self.chip.props("color=grey-7 icon=flag")
        self.stale = False
        self._explain(version, as_of)

    def update(self, as_of: datetime | None, *, version: int | None = None) -> None:
        """Show the age of ``as_of``; switch to warning colours when stale. The tooltip names the state version
        (when given) and the exact time the data was last confirmed with Temporal."""
        age = age_seconds(as_of)
        stale = age is None or age > self.limit
        text = "no data yet" if age is None else f"updated {format_duration(age)} ago"
        if stale:
            text = f"stale: {text}"
        self.chip.set_text(text)
        if stale != self.stale:
            self.chip.props(f"color={'orange-9' if stale else 'grey-7'} icon={'warning' if stale else 'sync'}")
            self.stale = stale
        self._explain(version, as_of)

    def _explain(self, version: int | None, as_of: datetime | None) -> None:
        title = freshness_tooltip(version, as_of)
        if self.chip.props.get("title") != title:  # a tooltip that did not change is not sent again
            self.chip.props["title"] = title
            self.chip.update()


def confirmed_time(as_of: datetime | None) -> str:
    """The exact moment, to the millisecond, in UTC ('2025-11-06 14:03:27.042 UTC')."""
    if as_of is None:
        return "never"
    return as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def freshness_tooltip(version: int | None, as_of: datetime | None) -> str:
    """'state version 42 · last confirmed with Temporal at 2025-11-06 14:03:27.042 UTC'."""
    confirmed = f"last confirmed with Temporal at {confirmed_time(as_of)}"
    return confirmed if version is None else f"state version {version} · {confirmed}"
