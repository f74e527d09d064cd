"""A release's compact progress timeline: points of (time, version, apps per state), bounded in size.

The reference workflow records one point per accepted batch (and one at start). When the timeline grows past
MAX_POINTS, the older points are thinned (every second one dropped, the first and the latest always kept), so it
never holds more than MAX_POINTS points however long the release runs; it is carried across continue-as-new. Pure
Python and deterministic: the workflow and the console share it.

A point is ``[at, version, {state: apps}]`` (``at`` an ISO-8601 UTC time); the ``timeline`` query answers
``{"version": int, "points": [...], "max_points": int}`` (see docs/query-contract.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .states import MAX_DISTINCT_STATES, StateKind, state_kind, validate_state

MAX_POINTS = 500
"""At most this many points in a timeline (a few tens of KiB of JSON)."""
MAX_ACCEPTED_POINTS = 2000
"""A foreign workflow's answer may hold up to this many points; more is refused as invalid."""

Point = list[Any]  # Any: a JSON array of mixed items ([str, int, dict]) that callers index by position
"""``[at, version, {state: apps}]``."""


def make_point(at: str, version: int, apps: Mapping[str, int]) -> Point:
    """A point with only non-zero counts."""
    return [at, int(version), {s: int(n) for s, n in apps.items() if n}]


def add_point(points: list[Point], point: Point, max_points: int = MAX_POINTS) -> None:
    """Append ``point`` (replacing the last one when it has the same time, except the starting point), thinning older
    points past ``max_points``.

    Amortised O(1): a thinning halves the list, so it happens once every ``max_points / 2`` points.
    """
    if len(points) > 1 and points[-1][0] == point[0]:
        points[-1] = point
    else:
        points.append(point)
    if len(points) > max_points:
        first, middle, last = points[0], points[1:-1], points[-1]
        points[:] = [first, *middle[1::2], last]


def timeline_result(points: list[Point], version: int) -> dict[str, object]:
    """The ``timeline`` query answer."""
    return {"version": version, "points": points, "max_points": MAX_POINTS}


class InvalidTimeline(ValueError):
    """A ``timeline`` answer that does not follow the contract."""


def parse_timeline(raw: object) -> tuple[int, list[Point]]:
    """``(version, points)`` from a ``timeline`` answer; InvalidTimeline saying what is wrong."""
    if not isinstance(raw, dict):
        raise InvalidTimeline("timeline answer is not an object")
    version, points = raw.get("version"), raw.get("points")
    if type(version) is not int or version < 0:
        raise InvalidTimeline("timeline version is not a non-negative integer")
    if not isinstance(points, list) or len(points) > MAX_ACCEPTED_POINTS:
        raise InvalidTimeline(f"timeline points are not a list of at most {MAX_ACCEPTED_POINTS}")
    parsed: list[Point] = []
    for index, point in enumerate(points):
        if not isinstance(point, list) or len(point) != 3:
            raise InvalidTimeline(f"timeline point {index} is not [at, version, counts]")
        at, point_version, apps = point
        if not isinstance(at, str) or not 0 < len(at) <= 40 or type(point_version) is not int:
            raise InvalidTimeline(f"timeline point {index} has a bad time or version")
        if not isinstance(apps, dict) or len(apps) > MAX_DISTINCT_STATES:
            raise InvalidTimeline(f"timeline point {index} has bad counts")
        try:
            counts = {validate_state(s): n for s, n in apps.items()}
        except ValueError as exc:
            raise InvalidTimeline(f"timeline point {index}: {exc}") from None
        if any(type(n) is not int or n < 0 for n in counts.values()):
            raise InvalidTimeline(f"timeline point {index} has a count that is not a non-negative integer")
        parsed.append([at, point_version, counts])
    return version, parsed


@dataclass(frozen=True, slots=True)
class BurnUp:
    """One point of the burn-up chart: apps done (succeeded or stopped), failed, in progress, and all apps."""

    at: str
    version: int
    done: int
    failed: int
    in_progress: int
    total: int


def burn_up(point: Point) -> BurnUp:
    """Group a point's apps per state into the chart's series (waiting apps only count in ``total``)."""
    at, version, apps = point
    done = failed = active = 0
    for state, number in apps.items():
        kind = state_kind(state)
        if kind is StateKind.FAILED:
            failed += number
        elif kind in (StateKind.SUCCEEDED, StateKind.STOPPED):
            done += number
        elif kind is StateKind.ACTIVE:
            active += number
    return BurnUp(at, version, done, failed, active, sum(apps.values()))
