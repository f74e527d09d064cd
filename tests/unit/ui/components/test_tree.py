"""The release tree view applies a poll's changes to the rows they concern: the changed entities and their ancestors
(whose roll-ups moved), and only those that are rendered. No Temporal and no browser: the tree is built in memory."""

from __future__ import annotations

from dataclasses import dataclass

from release_console.domain.tree import Entity, ReleaseTree
from release_console.temporal.releases import build_plan
from release_console.ui.components.tree import ReleaseTreeView, touched

T1 = "2025-01-01T00:00:01Z"


@dataclass(frozen=True)
class Record:
    """The attributes the view reads of a change record (the mirror hands over versioned id/state records)."""

    version: int
    id: str
    state: str
    updated_at: str


def small_tree() -> ReleaseTree:
    """release:r → 2 waves × 2 clusters → 1 bundle → 3 apps."""
    return ReleaseTree.from_plan(build_plan("r", waves=2, clusters_per_wave=2, apps_per_bundle=3))


def test_touched_is_the_changed_entities_and_their_ancestors() -> None:
    tree = small_tree()
    changes = [Record(1, "app:r-w1-c1-a1", "deploying", T1), Record(1, "app:r-w1-c1-a2", "deploying", T1)]
    assert touched(tree, changes) == {
        "app:r-w1-c1-a1",
        "app:r-w1-c1-a2",
        "bundle:r-w1-c1",
        "cluster:r-w1-c1",
        "wave:r-w1",
        "release:r",
    }
    assert touched(tree, [Record(2, "app:not-in-this-release", "failed", T1)]) == set()
    assert touched(tree, []) == set()


def _view_over(tree: ReleaseTree, rendered: list[str]) -> tuple[ReleaseTreeView, list[tuple[str, str]]]:
    """A view whose rendered rows are ``rendered``, its row patching recorded instead of drawn."""
    view = object.__new__(ReleaseTreeView)  # no page: only the bookkeeping under test
    view.get_tree = lambda: tree
    view._tree = tree
    view.rows = dict.fromkeys(rendered)  # type: ignore[arg-type]
    patched: list[tuple[str, str]] = []

    def patch(_row: object, entity: Entity) -> None:
        patched.append((entity.id, entity.state))

    view._patch = patch  # type: ignore[method-assign]
    return view, patched


def test_apply_changes_patches_only_the_rendered_rows_the_changes_concern() -> None:
    tree = small_tree()
    rendered = ["release:r", "wave:r-w1", "wave:r-w2", "cluster:r-w1-c1", "cluster:r-w1-c2", "cluster:r-w2-c1"]
    view, patched = _view_over(tree, rendered)
    change = Record(1, "app:r-w1-c1-a1", "failed", T1)
    tree.replay([change], 1)  # the mirror applies a poll's changes before it calls its listeners
    assert view.current
    ids = view.apply_changes([change])
    assert "app:r-w1-c1-a1" in ids and "bundle:r-w1-c1" in ids  # not rendered: nothing to patch
    assert sorted(e for e, _ in patched) == ["cluster:r-w1-c1", "release:r", "wave:r-w1"]
    assert ("wave:r-w1", tree.get("wave:r-w1").state) in patched  # rows read the entities' current state


def test_many_changes_against_few_rendered_rows_patch_each_concerned_row_once() -> None:
    tree = small_tree()
    view, patched = _view_over(tree, ["release:r", "wave:r-w2"])
    changes = [Record(1, app, "deployed", T1) for app in tree.entities if app.startswith("app:r-w1")]
    tree.replay(changes, 1)
    view.apply_changes(changes)
    assert [e for e, _ in patched] == ["release:r"]


def test_a_replaced_tree_is_not_current() -> None:
    tree = small_tree()
    view, _ = _view_over(tree, ["release:r"])
    view.get_tree = small_tree  # the mirror re-read the release: the page takes the full path (rebuild)
    assert not view.current
