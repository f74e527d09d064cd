"""The burn-up timeline in the domain: bounded points, first and latest kept, series and contract checks."""

from __future__ import annotations

import pytest

from release_console.domain.timeline import (
    MAX_POINTS,
    InvalidTimeline,
    add_point,
    burn_up,
    make_point,
    parse_timeline,
)


def test_timeline_stays_bounded_and_keeps_first_and_latest_points() -> None:
    points: list = []
    for i in range(5000):
        add_point(points, make_point(f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.{i:04d}Z", i, {"deployed": i}))
        assert len(points) <= MAX_POINTS
    assert points[0][1] == 0 and points[-1][1] == 4999
    assert [p[1] for p in points] == sorted(p[1] for p in points)  # still in time order
    same: list = []
    add_point(same, make_point("t", 0, {"pending": 2}))
    add_point(same, make_point("t", 1, {"pending": 1, "deploying": 1}))
    add_point(same, make_point("t", 2, {"deployed": 2, "pending": 0}))  # same instant: replaced, zero dropped
    assert same == [["t", 0, {"pending": 2}], ["t", 2, {"deployed": 2}]]  # the starting point is always kept


def test_burn_up_series_and_contract_checks() -> None:
    point = make_point("t", 3, {"deployed": 2, "rolled_back": 1, "failed": 1, "deploying": 2, "pending": 4, "x": 1})
    series = burn_up(point)
    assert (series.done, series.failed, series.in_progress, series.total) == (3, 1, 2, 11)
    assert parse_timeline({"version": 3, "points": [point]}) == (3, [point])
    for bad in (
        [],
        {"version": -1, "points": []},
        {"version": 1, "points": [["t", 1]]},
        {"version": 1, "points": [["t", 1, {"ok": -1}]]},
        {"version": 1, "points": [["t", 1, {"": 1}]]},
        {"version": 1, "points": [[1, 1, {}]]},
    ):
        with pytest.raises(InvalidTimeline):
            parse_timeline(bad)
