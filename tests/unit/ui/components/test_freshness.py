"""The freshness chip's tooltip text."""

from __future__ import annotations

from datetime import UTC, datetime

from release_console.ui.components.freshness import confirmed_time, freshness_tooltip


def test_tooltip_text() -> None:
    moment = datetime(2025, 11, 6, 14, 3, 27, 42_000, tzinfo=UTC)
    expected = "state version 42 · last confirmed with Temporal at 2025-11-06 14:03:27.042 UTC"
    assert freshness_tooltip(42, moment) == expected
    assert freshness_tooltip(None, None) == "last confirmed with Temporal at never"
    assert confirmed_time(moment) == "2025-11-06 14:03:27.042 UTC"
