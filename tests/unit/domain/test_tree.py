"""ReleaseTree: rollups, the change log, changes_since (whole batches, reload) and snapshot rows order; plus views."""

from __future__ import annotations

import dataclasses
import gc
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from release_console.contract import views
from release_console.contract.limits import RESULT_BYTES_BUDGET, SNAPSHOT_BYTES_BUDGET
from release_console.contract.shapes import ChangesRequest, ChildrenRequest, SnapshotRequest
from release_console.domain.summary import release_overview
from release_console.domain.tree import (
    Change,
    ReleaseTree,
    UnknownEntity,
    change_json_size,
    last_updated,
    paused_gc,
    progress_percent,
)
from release_console.temporal.releases import build_plan

T0 = "2025-01-01T00:00:00Z"


def small_tree(**kwargs) -> ReleaseTree:
    """release:r → 2 waves × 2 clusters → 1 bundle → 3 apps (12 apps, 23 entities)."""
    return ReleaseTree.from_plan(build_plan("r", waves=2, clusters_per_wave=2, apps_per_bundle=3), **kwargs)


def recount(tree: ReleaseTree, node_id: str) -> dict[str, dict[str, int]]:
    """Rollups recomputed from scratch by walking the subtree."""
    counts: dict[str, Counter] = {}
    stack = list(tree.get(node_id).children)
    while stack:
        entity = tree.get(stack.pop())
        counts.setdefault(entity.type.value, Counter())[entity.state] += 1
        stack.extend(entity.children)
    return {t: dict(c) for t, c in counts.items()}


def test_rollups_of_a_fresh_plan() -> None:
    tree = small_tree()
    assert tree.root.id == "release:r"
    assert tree.root.counts == {
        "wave": {"pending": 2},
        "cluster": {"pending": 4},
        "bundle": {"pending": 4},
        "app": {"pending": 12},
    }
    assert tree.get("wave:r-w1").counts == {"cluster": {"pending": 2}, "bundle": {"pending": 2}, "app": {"pending": 6}}
    assert tree.get("bundle:r-w1-c1").counts == {"app": {"pending": 3}}
    assert tree.get("app:r-w1-c1-a1").counts == {}
    assert tree.progress() == (0, 12)


def test_rollups_follow_transitions_and_drop_empty_states() -> None:
    tree = small_tree()
    tree.apply([("app:r-w1-c1-a1", "deployed"), ("app:r-w1-c1-a2", "failed"), ("cluster:r-w1-c1", "deploying")], T0)
    assert tree.root.counts["app"] == {"pending": 10, "deployed": 1, "failed": 1}
    assert tree.get("wave:r-w1").counts["cluster"] == {"pending": 1, "deploying": 1}
    assert tree.get("wave:r-w2").counts["app"] == {"pending": 6}
    assert tree.progress() == (2, 12)
    assert tree.progress("bundle:r-w1-c1") == (2, 3)
    tree.apply([("app:r-w1-c1-a3", "deployed"), ("app:r-w1-c1-a2", "deployed")], T0)
    assert tree.get("bundle:r-w1-c1").counts == {"app": {"deployed": 3}}
    for node in ("release:r", "wave:r-w1", "cluster:r-w1-c1", "bundle:r-w1-c1"):
        assert tree.get(node).counts == recount(tree, node)


def test_one_progress_rule_and_one_overview() -> None:
    tree = small_tree()
    tree.apply([("app:r-w1-c1-a1", "deployed"), ("app:r-w1-c1-a2", "failed")], T0)
    assert progress_percent(tree.get("app:r-w1-c1-a1")) == 100  # an app counts itself
    assert progress_percent(tree.get("app:r-w1-c1-a3")) == 0
    assert progress_percent(tree.get("bundle:r-w1-c1")) == 66
    assert progress_percent(tree.root) == tree.percent_done() == 16
    overview = release_overview(tree, last_updated(tree))
    assert (overview.release_id, overview.version, overview.updated_at) == ("release:r", 1, T0)
    assert (overview.entity_count, overview.apps_total, overview.apps_done, overview.progress) == (23, 12, 2, 16)
    memo = views.release_memo(tree, overview.updated_at)
    assert memo == {
        "state": "pending", "version": 1, "updated_at": T0, "apps_total": 12, "apps_done": 2, "entity_count": 23,
        "counts": tree.root.counts,
    }


def test_foreign_state_is_counted_as_is() -> None:
    tree = small_tree()
    tree.apply([("app:r-w2-c2-a3", "Waiting For Approval")], T0)
    assert tree.root.counts["app"]["Waiting For Approval"] == 1


STATES = ["pending", "deploying", "deployed", "failed", "rolled_back", "weird-foreign"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 22), st.sampled_from(STATES)), min_size=1, max_size=8), max_size=15))
def test_rollups_always_match_a_recount(batches: list[list[tuple[int, str]]]) -> None:
    tree = small_tree()
    ids = list(tree.entities)
    for batch in batches:
        tree.apply([(ids[i], s) for i, s in batch], T0)
    rebuilt = ReleaseTree(tree.rows())  # a load computes the same rollups in one bottom-up pass
    for node in ids:
        assert tree.get(node).counts == recount(tree, node)
        assert rebuilt.get(node).counts == recount(tree, node)
    assert tree.version == len(batches)


def test_paused_gc_restores_the_collector_and_leaves_nesting_to_the_outermost() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it paused: it stays paused
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("a failed build")
    assert gc.isenabled()


def test_apply_stamps_time_and_bumps_version_per_batch() -> None:
    tree = small_tree()
    assert tree.version == 0
    assert tree.apply([("app:r-w1-c1-a1", "deploying"), ("app:r-w1-c1-a2", "deploying")], "2025-01-01T00:00:01Z") == 1
    assert tree.apply([("app:r-w1-c1-a1", "deployed")], "2025-01-01T00:00:02Z") == 2
    a1 = tree.get("app:r-w1-c1-a1")
    assert (a1.state, a1.updated_at) == ("deployed", "2025-01-01T00:00:02Z")
    assert [(c.version, c.id, c.state) for c in tree.changes] == [
        (1, "app:r-w1-c1-a1", "deploying"),
        (1, "app:r-w1-c1-a2", "deploying"),
        (2, "app:r-w1-c1-a1", "deployed"),
    ]


def test_unknown_entity_lookups() -> None:
    tree = small_tree()
    with pytest.raises(UnknownEntity):
        tree.get("app:missing")
    with pytest.raises(UnknownEntity):
        tree.children_of("wave:missing")


def batches_of(tree: ReleaseTree, sizes: list[int]) -> None:
    apps = [e for e in tree.entities if e.startswith("app:")]
    for n, size in enumerate(sizes):
        tree.apply([(apps[(n + i) % len(apps)], f"s{n}") for i in range(size)], f"2025-01-01T00:00:{n:02d}Z")


def test_changes_since_returns_whole_batches() -> None:
    tree = small_tree()
    batches_of(tree, [3, 3, 3])
    changes, reached, more, reload = tree.changes_since(0, limit=6)
    assert [c.version for c in changes] == [1, 1, 1, 2, 2, 2]  # batch 3 would pass the limit: not split, left out
    assert (reached, more, reload) == (2, True, False)
    changes, reached, more, reload = tree.changes_since(reached, limit=6)
    assert [c.version for c in changes] == [3, 3, 3]
    assert (reached, more, reload) == (3, False, False)
    assert tree.changes_since(3, limit=4) == ([], 3, False, False)
    changes, reached, more, _ = tree.changes_since(0, limit=2)  # a first batch larger than the limit comes whole
    assert [c.version for c in changes] == [1, 1, 1] and (reached, more) == (1, True)


def test_changes_since_stops_at_the_byte_budget() -> None:
    tree = small_tree()
    batches_of(tree, [2, 2, 2])
    one = sum(change_json_size(c) for c in tree.changes if c.version == 1)
    changes, reached, more, _ = tree.changes_since(0, limit=100, max_bytes=one * 2)
    assert [c.version for c in changes] == [1, 1, 2, 2] and (reached, more) == (2, True)
    changes, reached, more, _ = tree.changes_since(0, limit=100, max_bytes=1)
    assert [c.version for c in changes] == [1, 1] and (reached, more) == (1, True)


def test_changes_since_with_limit_one_pages_batch_by_batch() -> None:
    tree = small_tree()
    batches_of(tree, [2, 1, 2])
    since, seen = 0, []
    while True:
        changes, since, more, reload = tree.changes_since(since, limit=1)
        assert not reload
        seen.append(sorted({c.version for c in changes}))
        if not more:
            break
    assert seen == [[1], [2], [3]]


def test_changes_since_a_trimmed_version_asks_for_reload() -> None:
    tree = small_tree(changes_kept=4)
    batches_of(tree, [2, 2, 2])  # 6 changes, 4 kept: batch 1 dropped entirely
    assert [c.version for c in tree.changes] == [2, 2, 3, 3]
    assert tree.log_floor == 1
    assert tree.changes_since(0, 100) == ([], 3, False, True)
    changes, reached, more, reload = tree.changes_since(1, 100)
    assert [c.version for c in changes] == [2, 2, 3, 3] and (reached, more, reload) == (3, False, False)


def test_partly_trimmed_batch_moves_the_floor_to_that_batch() -> None:
    tree = small_tree(changes_kept=3)
    batches_of(tree, [2, 2])  # [1,1,2,2] -> drop one change of batch 1
    assert tree.log_floor == 1
    assert tree.changes_since(0, 100)[3] is True  # batch 1 is incomplete: reload
    assert [c.version for c in tree.changes_since(1, 100)[0]] == [2, 2]


def test_changes_since_a_future_version_asks_for_reload() -> None:
    tree = small_tree()
    batches_of(tree, [1])
    assert tree.changes_since(5, 10) == ([], 1, False, True)


def test_tree_loaded_at_a_version_has_no_older_changes() -> None:
    source = small_tree()
    batches_of(source, [2, 2])
    copy = ReleaseTree(source.rows(), version=source.version)
    assert copy.changes_since(2, 10) == ([], 2, False, False)
    assert copy.changes_since(1, 10)[3] is True


def test_snapshot_rows_are_parents_first_in_plan_order() -> None:
    tree = small_tree()
    tree.apply([("app:r-w2-c1-a2", "deployed")], T0)
    rows = list(tree.rows())
    assert [r[0] for r in rows[:7]] == [
        "release:r",
        "wave:r-w1",
        "cluster:r-w1-c1",
        "bundle:r-w1-c1",
        "app:r-w1-c1-a1",
        "app:r-w1-c1-a2",
        "app:r-w1-c1-a3",
    ]
    position = {row[0]: i for i, row in enumerate(rows)}
    for entity_id, parent, _state, _at in rows:
        assert parent is None or position[parent] < position[entity_id]
    assert ("app:r-w2-c1-a2", "bundle:r-w2-c1", "deployed", T0) in rows
    assert tree.row_slice(4, 7) == rows[4:7]
    rebuilt = ReleaseTree(rows, version=tree.version)
    assert list(rebuilt.rows()) == rows
    assert rebuilt.root.counts == tree.root.counts


# ---- views (the same functions answer the workflow's queries) ----------------------------------------
def test_children_view_pages_with_cursor_and_state_filter() -> None:
    tree = ReleaseTree.from_plan(build_plan("p", waves=1, clusters_per_wave=1, apps_per_bundle=25))
    tree.apply([(f"app:p-w1-c1-a{i}", "failed") for i in range(1, 26, 3)], T0)
    page = views.children_view(tree, ChildrenRequest("bundle:p-w1-c1", limit=10))
    assert (page.total, len(page.items), page.next_cursor) == (25, 10, "o:10")
    ids = [i.id for i in page.items]
    while page.next_cursor:
        page = views.children_view(tree, ChildrenRequest("bundle:p-w1-c1", cursor=page.next_cursor, limit=10))
        ids += [i.id for i in page.items]
    assert ids == [f"app:p-w1-c1-a{i}" for i in range(1, 26)]
    failed = views.children_view(tree, ChildrenRequest("bundle:p-w1-c1", state="failed", limit=100))
    assert failed.total == 9 and {i.state for i in failed.items} == {"failed"} and failed.next_cursor is None
    assert views.children_view(tree, ChildrenRequest("bundle:p-w1-c1", state="deployed")).total == 0


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ChildrenRequest("bundle:p-w1-c1", limit=0), "limit must be an integer from 1 to 1000"),
        (ChildrenRequest("bundle:p-w1-c1", limit=1001), "limit must be an integer from 1 to 1000"),
        (ChildrenRequest("bundle:p-w1-c1", cursor="x:1"), "invalid cursor"),
        (ChildrenRequest("bundle:p-w1-c1", cursor="o:-1"), "invalid cursor"),
        (ChildrenRequest("bundle:p-w1-c1", cursor="o:99"), "past the end"),
    ],
)
def test_children_view_refuses_bad_paging(request_: ChildrenRequest, message: str) -> None:
    tree = ReleaseTree.from_plan(build_plan("p", waves=1, clusters_per_wave=1, apps_per_bundle=5))
    with pytest.raises(ValueError, match=message):
        views.children_view(tree, request_)


def test_summary_and_entity_views() -> None:
    tree = small_tree()
    tree.apply([("app:r-w1-c1-a1", "deployed")], "2025-01-01T00:00:09Z")
    summary = views.summary_view(tree)
    assert (summary.release_id, summary.state, summary.version) == ("release:r", "pending", 1)
    assert summary.updated_at == "2025-01-01T00:00:09Z"
    assert (summary.entity_count, summary.apps_total, summary.apps_done) == (23, 12, 1)
    assert [w.id for w in summary.waves] == ["wave:r-w1", "wave:r-w2"]
    assert summary.waves[0].counts["app"] == {"pending": 5, "deployed": 1}
    cluster = views.entity_view(tree.get("cluster:r-w1-c1"))
    assert (cluster.type, cluster.parent, cluster.child_count) == ("cluster", "wave:r-w1", 1)


def test_summary_waves_stop_at_the_byte_budget_whatever_the_release() -> None:
    # 200 waves, each with 31 long foreign states among its apps (plus pending): rollups as big as a release allows
    tree = ReleaseTree.from_plan(build_plan("big", waves=200, clusters_per_wave=1, apps_per_bundle=31))
    states = [f"{i:02d}-" + "s" * 60 for i in range(31)]
    for wave in range(1, 201):
        tree.apply([(f"app:big-w{wave}-c1-a{a + 1}", state) for a, state in enumerate(states)], T0)
    summary = views.summary_view(tree)
    size = len(json.dumps(dataclasses.asdict(summary)))
    assert size <= RESULT_BYTES_BUDGET + 4096 and 0 < len(summary.waves) < 200  # trimmed, not refused
    assert [w.id for w in summary.waves] == [f"wave:big-w{i}" for i in range(1, len(summary.waves) + 1)]
    assert summary.counts["wave"] == {"pending": 200}  # the total stays known
    print(f"summary of 200 maximal waves: {len(summary.waves)} waves in {size / 1024:.0f} KiB")


def test_changes_and_snapshot_views() -> None:
    tree = small_tree()
    batches_of(tree, [2, 2])
    result = views.changes_view(tree, ChangesRequest(since_version=1))
    assert (result.version, result.reload, result.more) == (2, False, False)
    assert [c.version for c in result.changes] == [2, 2]
    with pytest.raises(ValueError, match="limit"):
        views.changes_view(tree, ChangesRequest(since_version=0, limit=5000))
    page = views.snapshot_view(tree, SnapshotRequest(limit=10))
    assert (page.version, page.total, len(page.rows), page.next_cursor) == (2, 23, 10, "o:10")
    rest = views.snapshot_view(tree, SnapshotRequest(cursor=page.next_cursor, limit=4000))
    assert len(rest.rows) == 13 and rest.next_cursor is None
    assert [r[0] for r in page.rows + rest.rows] == list(tree.entities)


def long_id_tree(apps: int) -> ReleaseTree:
    """One bundle of ``apps`` apps whose ids are the longest allowed (128-character id parts)."""
    key = "k" * 100
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=1)
    bundle = plan.children[0].children[0].children[0]
    bundle.children = [type(bundle)(f"app:{i:0>128}") for i in range(apps)]
    return ReleaseTree.from_plan(plan)


def test_pages_stop_at_the_byte_budget_and_resume_by_cursor() -> None:
    tree = long_id_tree(3000)
    bundle_id = tree.get(tree.root.children[0]).children[0].replace("cluster:", "bundle:")
    first = views.snapshot_view(tree, SnapshotRequest(limit=4000))
    size = len(json.dumps(views.snapshot_result(tree, SnapshotRequest(limit=4000)), separators=(",", ":")))
    print(f"\nsnapshot page of longest ids: {len(first.rows)} rows, {size} bytes (compact JSON, as the SDK sends it)")
    assert len(first.rows) < 3004 and first.next_cursor == f"o:{len(first.rows)}"
    assert SNAPSHOT_BYTES_BUDGET - 4096 < size <= SNAPSHOT_BYTES_BUDGET < 256 * 1024  # full, yet plain JSON
    rows, page = list(first.rows), first
    while page.next_cursor:
        page = views.snapshot_view(tree, SnapshotRequest(cursor=page.next_cursor, limit=4000))
        rows += page.rows
    assert [r[0] for r in rows] == list(tree.entities)
    kids = views.children_view(tree, ChildrenRequest(bundle_id, limit=1000))
    size = len(json.dumps(dataclasses.asdict(kids)))
    print(f"children page of longest ids: {len(kids.items)} items, {size} bytes")
    assert len(kids.items) < 1000 and kids.next_cursor == f"o:{len(kids.items)}" and size <= RESULT_BYTES_BUDGET


def test_changes_stop_at_the_byte_budget_on_a_batch_boundary() -> None:
    tree = long_id_tree(3000)
    apps = [e for e in tree.entities if e.startswith("app:")]
    for n in range(3):
        tree.apply([(a, "deployed" if n % 2 else "deploying") for a in apps[n * 1000 : (n + 1) * 1000]], T0)
    result = views.changes_view(tree, ChangesRequest(since_version=0, limit=2000))
    size = len(json.dumps(dataclasses.asdict(result)))
    print(f"\nchanges of longest ids: {len(result.changes)} changes, {size} bytes")
    assert {c.version for c in result.changes} == {1}  # whole batch 1 only; batch 2 would pass the budget
    assert size < 256 * 1024
    assert (result.version, result.more, result.reload) == (1, True, False)


def test_touched_is_the_changed_entities_and_their_ancestors() -> None:
    tree = ReleaseTree.from_plan(build_plan("r", waves=2, clusters_per_wave=2, apps_per_bundle=3))
    assert tree.touched(["app:r-w1-c1-a1", "app:r-w1-c1-a2"]) == {
        "app:r-w1-c1-a1", "app:r-w1-c1-a2", "bundle:r-w1-c1", "cluster:r-w1-c1", "wave:r-w1", "release:r",
    }
    assert tree.touched(["app:not-in-this-release"]) == set()
    assert tree.touched([]) == set()


def test_an_entity_only_a_change_names_is_kept_unreadable_under_the_release():
    tree = ReleaseTree([("release:r", None, "pending", None), ("wave:w", "release:r", "pending", None)])
    tree.add_unreadable("app:ghost", "a change named it")
    tree.replay([Change(1, "app:ghost", "deployed", "2026-12-03T10:00:00Z")], 1)  # logged, not applied
    ghost = tree.get("app:ghost")
    assert (ghost.parent, ghost.state, ghost.error) == ("release:r", None, "a change named it")
    assert tree.root.children == ["wave:w", "app:ghost"] and tree.unreadable == 1
    assert tree.problems == ["app:ghost: a change named it"]
    assert tree.root.counts == {"wave": {"pending": 1}}  # in no rollup
    assert tree.version == 1 and tree.changes[-1].id == "app:ghost"
