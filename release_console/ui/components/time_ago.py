"""Human times: "3 min ago" for people, the exact UTC time on hover."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nicegui import ui


def parse_time(value: datetime | str | None) -> datetime | None:
    """A timezone-aware datetime from a datetime or an ISO-8601 string (None if absent or unreadable)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age_seconds(value: datetime | str | None, now: datetime | None = None) -> float | None:
    """Seconds since ``value`` (None if unknown)."""
    when = parse_time(value)
    if when is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - when).total_seconds())


def format_duration(seconds: float) -> str:
    """Short duration: 5 s, 3 min, 2 h, 4 d."""
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def time_ago(value: datetime | str | None, now: datetime | None = None) -> str:
    """'3 min ago', 'just now', or '—' when the time is unknown."""
    seconds = age_seconds(value, now)
    if seconds is None:
        return "—"
    if seconds < 2:
        return "just now"
    return f"{format_duration(seconds)} ago"


def exact_time(value: datetime | str | None) -> str:
    """The exact time in UTC for tooltips ('2025-11-06 14:03:27 UTC')."""
    when = parse_time(value)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "unknown"


class TimeAgoLabel(ui.label):
    """A moment as "3 min ago" (or another ``text`` of it), with a tooltip (by default its exact UTC time).

    ``set_time`` points it at another moment; ``tick`` advances the text as time passes (a clock refresh: nothing is
    sent when the text is the same). The tooltip sits beside the label aimed at it, as ``Element.tooltip`` puts it,
    or inside the label with ``nested_tip=True``.
    """

    def __init__(
        self,
        moment: datetime | str | None,
        *,
        text: Callable[[datetime | str | None], str] = time_ago,
        tip: Callable[[datetime | str | None], str] = exact_time,
        nested_tip: bool = False,
    ) -> None:
        self._say = text
        self._hover = tip
        self.moment = moment
        super().__init__(text(moment))
        if nested_tip:
            with self:
                self.tip = ui.tooltip(tip(moment))
        else:
            self.tip = ui.tooltip(tip(moment))
            self.tip.props["target"] = f"#{self.html_id}"

    def set_time(self, moment: datetime | str | None) -> None:
        """Show another moment (text and tooltip)."""
        self.moment = moment
        self.set_text(self._say(moment))
        self.tip.set_text(self._hover(moment))

    def tick(self) -> None:
        """Advance the text to now."""
        self.set_text(self._say(self.moment))
