"""Events from release list rows and from a release's tree: pure functions of data every instance reads alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from release_console.domain.tree import ReleaseTree
from release_console.notifications import events as ev
from release_console.readpath.release_list import ReleaseListItem

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(hours=1)


def row(state: str = "deploying", status: str = "running", version: int = 5, updated: datetime = NOW,
        failed_apps: int = 0, closed: datetime | None = None) -> ReleaseListItem:
    counts = {"app": {"deployed": 3, **({"failed": failed_apps} if failed_apps else {})}}
    return ReleaseListItem(id="release:r1", state=state, status=status, updated_at=updated.isoformat(),
                           counts=counts, apps_total=10, apps_done=3 + failed_apps, version=version,
                           start_time=STARTED, close_time=closed)


def names(events: list[ev.Event]) -> list[str]:
    return [e.name for e in events]


def test_a_release_that_fails_is_one_event_marked_by_its_version() -> None:
    events = ev.row_events(row(), row(state="failed", version=9), NOW, 900)
    assert names(events) == ["release.failed"]
    assert events[0].marker == "v9" and events[0].run == str(int(STARTED.timestamp() * 1_000_000))


def test_the_same_state_again_is_no_event() -> None:
    assert ev.row_events(row(state="failed", version=9), row(state="failed", version=10), NOW, 900) == []


def test_done_and_closed_states() -> None:
    assert names(ev.row_events(row(), row(state="deployed"), NOW, 900)) == ["release.completed"]
    terminated = row(status="terminated", closed=NOW)
    assert names(ev.row_events(row(), terminated, NOW, 900)) == ["release.closed"]
    assert ev.row_events(row(), terminated, NOW, 900)[0].marker == "terminated"
    assert ev.row_events(row(), row(status="completed", state="deploying"), NOW, 900) == []


def test_first_sight_counts_only_recent_events() -> None:
    assert names(ev.row_events(None, row(state="failed"), NOW, 900)) == ["release.failed"]
    old = row(state="failed", updated=NOW - timedelta(hours=2))
    assert ev.row_events(None, old, NOW, 900) == []
    assert ev.row_events(None, row(status="timed_out", closed=NOW - timedelta(hours=2)), NOW, 900) == []


def test_failures_grow_from_the_rollup_counts() -> None:
    assert ev.failures_grew(row(failed_apps=1), row(failed_apps=3), NOW, 900)
    assert not ev.failures_grew(row(failed_apps=3), row(failed_apps=3), NOW, 900)
    assert ev.failures_grew(None, row(failed_apps=1), NOW, 900)
    assert not ev.failures_grew(None, row(failed_apps=1, updated=NOW - timedelta(hours=1)), NOW, 900)


def test_stalled_only_while_running() -> None:
    assert ev.stalled_for(row(updated=NOW - timedelta(minutes=40)), NOW) == 2400
    assert ev.stalled_for(row(status="completed"), NOW) is None
    assert ev.stalled_for(row(state="deployed"), NOW) is None


def _tree() -> ReleaseTree:
    rows = [("release:r1", None, "deploying", None)]
    for w in range(2):
        rows += [(f"wave:w{w}", "release:r1", "deploying", None), (f"cluster:c{w}", f"wave:w{w}", "deploying", None),
                 (f"bundle:b{w}", f"cluster:c{w}", "deploying", None)]
        rows += [(f"app:a{w}-{n}", f"bundle:b{w}", "pending", None) for n in range(20)]
    return ReleaseTree(rows)


def at(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat()


def test_failures_come_oldest_first_with_their_wave() -> None:
    tree = _tree()
    tree.apply([("app:a1-3", "failed")], at(5))
    tree.apply([("app:a0-1", "failed"), ("cluster:c0", "failed")], at(2))
    found = ev.failures(tree)
    assert [(f.id, f.wave) for f in found] == [("app:a0-1", "wave:w0"), ("cluster:c0", "wave:w0"),
                                               ("app:a1-3", "wave:w1")]


def test_many_failures_together_make_one_burst_then_a_new_one_later() -> None:
    tree = _tree()
    tree.apply([(f"app:a0-{n}", "failed") for n in range(15)], at(0))
    tree.apply([(f"app:a1-{n}", "failed") for n in range(10)], at(20))
    tree.apply([("app:a1-19", "failed")], at(100))
    apps = list(ev.bursts(ev.failures(tree), ev.app_scope, 30))
    assert [(b.first.id, len(b.rest)) for b in apps] == [("app:a0-0", 24), ("app:a1-19", 0)]
    waves = list(ev.bursts(ev.failures(tree), ev.wave_scope, 30))
    assert sorted((b.scope, len(b.rest)) for b in waves) == [("wave:w0", 14), ("wave:w1", 0), ("wave:w1", 9)]
    assert apps[0].marker != apps[1].marker


def test_a_burst_keeps_its_marker_as_more_of_it_is_seen() -> None:
    tree = _tree()
    tree.apply([("app:a0-0", "failed")], at(0))
    seen_first = next(ev.bursts(ev.failures(tree), ev.app_scope, 30))
    tree.apply([("app:a0-1", "failed"), ("app:a1-2", "failed")], at(10))
    seen_later = next(ev.bursts(ev.failures(tree), ev.app_scope, 30))
    assert seen_first.marker == seen_later.marker
    assert (len(seen_first.rest), len(seen_later.rest)) == (0, 2)
