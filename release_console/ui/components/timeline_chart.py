"""The release page's live burn-up chart: apps done, failed and in progress over time.

It reads the release's shared TimelineFeed (readpath/timeline.py) through the release's live model, so viewers never
cost a query each, and the points go to every tab in one message when the feed's revision moves (at most once per
TIMELINE_REFRESH_SECONDS). A workflow without the optional ``timeline`` query gets a note instead of the chart.
"""

from __future__ import annotations

from nicegui.elements.echart import EChart  # noqa: F401  (registers the echarts module timeline_chart.js imports)

from ..live.element import LiveElement
from ..live.release_model import LiveRelease


class TimelineChart(LiveElement, component="timeline_chart.js"):
    """The chart of the release's shared timeline."""

    def __init__(self, live: LiveRelease) -> None:
        super().__init__(live.channel, live.seq)
        self.share(timeline=live.timeline)
        self.classes("w-full").mark("timeline-chart")

    @property
    def points_drawn(self) -> int:
        """How many points the chart shows (the server's copy)."""
        return len(self.shared("timeline").get("points", []))

    @property
    def note(self) -> str:
        return str(self.shared("timeline").get("note", ""))
