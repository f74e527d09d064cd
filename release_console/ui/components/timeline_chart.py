"""The release page's live burn-up chart: apps done, failed and in progress over time (ui.echart, no custom JS).

It reads the release's shared TimelineFeed (readpath/timeline.py), so viewers never cost a query each; the feed
calls its listeners when its revision moves (at most once per TIMELINE_REFRESH_SECONDS), and only then is the chart
redrawn: no timer. A workflow without the optional ``timeline`` query gets a note instead of the chart.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ...domain.timeline import burn_up
from ...readpath.timeline import TimelineFeed, timeline_feed

SERIES = (("done", "Done", "#21ba45"), ("failed", "Failed", "#c10015"), ("in_progress", "In progress", "#1976d2"))
UNSUPPORTED_NOTE = "No progress chart: this release's workflow does not implement the optional timeline query."


def chart_options(feed: TimelineFeed) -> dict[str, Any]:
    """ECharts options for the feed's points: one stacked area per series on a time axis."""
    series_points = [burn_up(p) for p in feed.points]
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [label for _, label, _ in SERIES], "textStyle": {"color": "gray"}},
        "grid": {"left": 40, "right": 16, "top": 32, "bottom": 28},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "minInterval": 1, "name": "apps"},
        "series": [
            {
                "type": "line",
                "name": label,
                "stack": "apps",
                "areaStyle": {},
                "showSymbol": False,
                "step": "end",
                "color": color,
                "data": [[p.at, getattr(p, key)] for p in series_points],
            }
            for key, label, color in SERIES
        ],
    }


class TimelineChart:
    """The chart card (or the note saying why there is none)."""

    def __init__(self, mirror: Any) -> None:
        self.feed = timeline_feed(mirror)
        self.seen_revision = -1
        with ui.card().classes("w-full").mark("timeline-card") as self.card:
            ui.label("Progress over time").classes("text-sm font-bold")
            self.note = ui.label("").classes("text-sm opacity-70").mark("timeline-note")
            self.chart = ui.echart(chart_options(self.feed)).classes("w-full h-56").mark("timeline-chart")
        client = ui.context.client
        # A listener keeps the shared feed following, and hears each new revision.
        remove = self.feed.add_listener(lambda _feed: self._on_feed(client))
        client.on_delete(remove)
        self.refresh()

    def _on_feed(self, client: Any) -> None:
        if not client.is_deleted:
            with client:
                self.refresh()

    def refresh(self) -> None:
        """Redraw when the feed changed (cheap otherwise: one int comparison)."""
        self.feed.touch()
        if self.feed.revision == self.seen_revision:
            return
        self.seen_revision = self.feed.revision
        feed = self.feed
        if feed.supported is False:
            self.chart.set_visibility(False)
            self.note.set_text(UNSUPPORTED_NOTE)
            return
        if feed.error is not None and not feed.points:
            self.chart.set_visibility(False)
            self.note.set_text(f"The progress chart could not be read: {feed.error}")
            return
        self.note.set_text("" if feed.error is None else f"Chart not refreshed: {feed.error}")
        self.chart.set_visibility(bool(feed.points))
        if not feed.points:
            self.note.set_text("Loading the progress chart…")
            return
        options = chart_options(feed)
        for index, series in enumerate(options["series"]):
            self.chart.options["series"][index]["data"] = series["data"]
        self.chart.update()

    @property
    def points_drawn(self) -> int:
        """How many points the chart shows (for tests)."""
        return len(self.chart.options["series"][0]["data"])
