"""Which rows a tab's release tree shows (TreeShape): failing branches open first, children a page at a time, the
state filter, reveal, expand/collapse all. No Temporal and no browser: the tree is built in memory."""

from __future__ import annotations

from release_console.domain.tree import Change, ReleaseTree
from release_console.temporal.releases import build_plan
from release_console.ui.components.tree import MAX_RENDERED_ROWS, TreeShape

T1 = "2025-01-01T00:00:01Z"


def tree_of(waves: int = 2, clusters: int = 2, apps: int = 3) -> ReleaseTree:
    """release:r → waves × clusters → 1 bundle → apps."""
    return ReleaseTree.from_plan(build_plan("r", waves=waves, clusters_per_wave=clusters, apps_per_bundle=apps))


def node_ids(shape: TreeShape) -> list[str]:
    return [row[0] for row in shape.rows() if row[0]]


def test_a_quiet_release_shows_the_release_and_its_waves() -> None:
    shape = TreeShape(lambda: tree_of())
    shape.reset()
    assert node_ids(shape) == ["release:r", "wave:r-w1", "wave:r-w2"]
    [root, w1, w2] = shape.rows()
    assert root == ["release:r", 0, 1, 1, 1, 1]  # id, depth, has children, expanded, position, siblings
    assert w1 == ["wave:r-w1", 1, 1, 0, 1, 2] and w2[4:] == [2, 2]


def test_failing_branches_open_on_their_own_and_sort_first() -> None:
    tree = tree_of()
    tree.replay([Change(1, "app:r-w2-c2-a3", "failed", T1)], 1)
    shape = TreeShape(lambda: tree)
    shape.reset()
    shown = node_ids(shape)
    assert shown[:2] == ["release:r", "wave:r-w2"]  # the failing wave first
    assert "app:r-w2-c2-a3" in shown and shown.index("cluster:r-w2-c2") < shown.index("cluster:r-w2-c1")
    assert "cluster:r-w1-c1" not in shown  # the settled wave stays closed


def test_children_come_a_page_at_a_time_with_a_show_more_row() -> None:
    shape = TreeShape(lambda: tree_of(waves=1, clusters=1, apps=250), page_size=100)
    shape.reset()
    assert shape.expand("wave:r-w1") and shape.expand("cluster:r-w1-c1") and shape.expand("bundle:r-w1-c1")
    rows = shape.rows()
    assert rows[-1] == ["", 4, "more", "bundle:r-w1-c1", 100, 150, 250]
    assert "app:r-w1-c1-a101" not in node_ids(shape)
    assert shape.show_more("bundle:r-w1-c1")
    assert "app:r-w1-c1-a101" in node_ids(shape) and shape.rows()[-1][5] == 50
    assert shape.show_more("bundle:r-w1-c1") and not shape.show_more("bundle:r-w1-c1")
    assert shape.rows()[-1][0] == "app:r-w1-c1-a250"


def test_reveal_opens_the_path_and_shows_a_node_beyond_the_page() -> None:
    shape = TreeShape(lambda: tree_of(waves=1, clusters=1, apps=250), page_size=100)
    shape.reset()
    assert shape.reveal("app:r-w1-c1-a200")
    shown = node_ids(shape)
    assert "app:r-w1-c1-a200" in shown and "app:r-w1-c1-a150" not in shown
    assert shape.show_more("bundle:r-w1-c1") and shape.show_more("bundle:r-w1-c1")
    assert node_ids(shape).count("app:r-w1-c1-a200") == 1  # a revealed node is not shown twice
    assert not shape.reveal("app:r-w9-c1-a1")


def test_a_revealed_node_keeps_its_place_among_all_its_siblings() -> None:
    """aria-posinset/aria-setsize of a node shown beyond the loaded page: its place among all the children."""
    shape = TreeShape(lambda: tree_of(waves=1, clusters=1, apps=250), page_size=100)
    shape.reset()
    assert shape.reveal("app:r-w1-c1-a200")
    rows = {row[0]: row for row in shape.rows() if row[0]}
    assert rows["app:r-w1-c1-a200"][4:] == [200, 250]
    assert rows["app:r-w1-c1-a100"][4:] == [100, 250]


def test_the_state_filter_keeps_matching_branches_and_says_when_none_match() -> None:
    tree = tree_of()
    tree.replay([Change(1, "app:r-w2-c1-a3", "failed", T1)], 1)
    shape = TreeShape(lambda: tree, state_filter="failed")
    shape.reset()
    shown = node_ids(shape)
    assert "wave:r-w1" not in shown and "app:r-w2-c1-a3" in shown and "app:r-w2-c1-a1" not in shown
    assert not shape.reveal("app:r-w1-c1-a1")  # hidden by the filter
    shape = TreeShape(lambda: tree, state_filter="verifying")
    shape.reset()
    assert ["", 1, "none", "release:r"] in shape.rows()


def test_collapse_forgets_what_was_open_below() -> None:
    tree = tree_of()
    tree.replay([Change(1, "app:r-w1-c1-a1", "failed", T1)], 1)
    shape = TreeShape(lambda: tree)
    shape.reset()
    assert "app:r-w1-c1-a1" in node_ids(shape)
    assert shape.collapse("wave:r-w1") and not shape.collapse("wave:r-w1")
    assert shape.expand("wave:r-w1")
    assert "app:r-w1-c1-a1" not in node_ids(shape)  # opened again as new: its clusters closed
    shape.collapse_all()
    assert node_ids(shape) == ["release:r", "wave:r-w1", "wave:r-w2"]


def test_expand_all_stops_at_the_row_bound() -> None:
    small = tree_of(waves=2, clusters=2, apps=2)
    shape = TreeShape(lambda: small)
    shape.reset()
    shape.expand_all()
    assert len(node_ids(shape)) == 19  # release, 2 waves, 4 clusters, 4 bundles, 8 apps
    ten_thousand = tree_of(waves=10, clusters=10, apps=100)  # built once: the shape reads it on every step
    big = TreeShape(lambda: ten_thousand)
    big.reset()
    big.expand_all()
    assert MAX_RENDERED_ROWS <= len(node_ids(big)) < MAX_RENDERED_ROWS + 110


def test_rows_of_another_tree_follow_a_reload() -> None:
    current = {"tree": tree_of()}
    shape = TreeShape(lambda: current["tree"])
    shape.reset()
    current["tree"] = tree_of(waves=3)
    shape.reset()
    assert node_ids(shape) == ["release:r", "wave:r-w1", "wave:r-w2", "wave:r-w3"]
