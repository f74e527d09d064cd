"""Query results off the contract: a broken envelope or release row is InvalidReleaseData (502); any other row only
makes its node (and, in the tree, its subtree) unreadable, with the reason."""

from __future__ import annotations

import pytest

from release_console.domain.ids import EntityType
from release_console.domain.tree import ReleaseTree
from release_console.readpath import validation
from release_console.readpath.errors import InvalidReleaseData

RID = "release:r1"
T = "2026-11-29T10:15:00.004000Z"
GOOD_ROWS = [[RID, None, "pending", None], ["wave:w1", RID, "pending", T]]


def checked_page(raw):
    """A snapshot page as the mirror takes it: envelope, then every row in one pass."""
    page = validation.snapshot_page(RID, raw)
    validation.SnapshotChecker(RID).check(page.rows)
    return page


def test_good_snapshot_and_changes_pass():
    page = checked_page({"version": 3, "total": 2, "rows": GOOD_ROWS, "next_cursor": None})
    assert page.rows == GOOD_ROWS and page.version == 3
    result = validation.changes_result(
        RID, {"version": 5, "reload": False, "more": False, "changes": [
            {"version": 4, "id": "wave:w1", "state": "deploying", "updated_at": T},
            {"version": 5, "id": "wave:w1", "state": "deployed", "updated_at": "2026-11-29T10:15:01+00:00"},
        ]}, since=3,
    )
    assert [c.state for c in result.changes] == ["deploying", "deployed"]


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"version": "3", "total": 2, "rows": GOOD_ROWS},
        {"version": -1, "total": 2, "rows": GOOD_ROWS},
        {"version": 3, "total": 2, "rows": "not rows"},
    ],
)
def test_a_snapshot_page_that_is_not_a_page_is_invalid_release_data(raw):
    with pytest.raises(InvalidReleaseData) as caught:
        checked_page(raw)
    assert caught.value.status == 502 and caught.value.code == "release_data_invalid" and RID in str(caught.value)


@pytest.mark.parametrize(
    "root",
    [
        [RID, None, "pending"],  # wrong shape
        ["not an id", None, "pending", None],  # no valid id: the release is missing
        [RID, None, "", None],
        [RID, None, 7, None],
        [RID, None, "pending", "yesterday"],
        [RID, None, "pending", 12],
        (RID, None, "pending", None),  # a tuple is not a JSON list
        ["wave:w1", None, "pending", None],  # the first row is not the release
        ["release:other", None, "pending", None],  # another release's tree
    ],
)
def test_an_unreadable_release_row_is_invalid_release_data(root):
    with pytest.raises(InvalidReleaseData) as caught:
        validation.SnapshotChecker(RID).check([root, ["wave:w1", RID, "pending", T]])
    assert caught.value.status == 502 and RID in str(caught.value)


def test_a_repeated_release_row_is_invalid_release_data():
    with pytest.raises(InvalidReleaseData, match="appears twice"):
        validation.SnapshotChecker(RID).check([[RID, None, "pending", None], [RID, None, "pending", None]])


@pytest.mark.parametrize(
    ("row", "parent", "reason"),
    [
        (["wave:w2", RID, 7, None], RID, "state 7 is not a string"),
        (["wave:w2", RID, "", None], RID, "empty"),
        (["wave:w2", RID, ["pending"], {"at": T}], RID, "state ['pending'] is not a string"),  # unhashable values
        (["wave:w2", RID, "pending", ["yesterday"]], RID, "not an ISO 8601 time"),
        (["wave:w2", RID, "pending", "yesterday"], RID, "not an ISO 8601 time"),
        (["wave:w2", RID, "pending"], RID, "is not [id, parent, state, updated_at]"),
        (["wave:w2", "wave:w0", "pending", None], RID, "parent wave:w0 is not listed before it"),  # orphan
        (["wave:w2", 5, "pending", None], RID, "parent 5 is not listed before it"),
        (["wave:w2", None, "pending", None], RID, "no parent"),
        (["bundle:b1", "wave:w1", "pending", None], "wave:w1", "bundle:b1 cannot be a child of wave:w1"),
    ],
)
def test_an_off_contract_row_is_placed_unreadable_with_its_reason(row, parent, reason):
    checker = validation.SnapshotChecker(RID)
    child = f"{EntityType(row[0].split(':')[0]).child_type.value}:x9"  # a child of the right type for the row
    placed = checker.check([*GOOD_ROWS, row, [child, row[0], "pending", T]])
    assert [r[0] for r in placed] == [RID, "wave:w1", row[0], child]
    assert placed[2][1] == parent and reason in checker.unreadable[row[0]]
    assert child not in checker.unreadable  # only the row itself: the tree marks its subtree
    tree = ReleaseTree(placed, unreadable=checker.unreadable)
    node, below = tree.entities[row[0]], tree.entities[child]
    assert node.state is None and reason in node.error and node.counts == {}
    assert below.state is None and below.error == f"its parent {row[0]} could not be read"
    assert tree.unreadable == 2 and tree.problems == [f"{row[0]}: {node.error}"]
    assert tree.root.counts == {"wave": {"pending": 1}}  # rollups count only what was read
    tree.set_state(below.id, "deployed", T)  # a change cannot make an unreadable node readable
    assert below.state is None and tree.root.counts == {"wave": {"pending": 1}}


def test_a_row_without_a_valid_id_is_counted_not_placed():
    checker = validation.SnapshotChecker(RID)
    placed = checker.check([*GOOD_ROWS, ["bad id", RID, "pending", None], "junk", ["wave:w2", RID, "deployed", T]])
    assert [r[0] for r in placed] == [RID, "wave:w1", "wave:w2"] and checker.unplaced == 2
    assert checker.problems[0].startswith("row ['bad id'") and not checker.unreadable


def test_a_duplicate_marks_the_first_node_and_drops_the_second_row():
    checker = validation.SnapshotChecker(RID)
    checker.check(GOOD_ROWS)
    checker.check([["cluster:c1", "wave:w1", "pending", T]])  # its parent came on the page before
    assert checker.check([["wave:w1", RID, "deployed", T]]) == []
    assert checker.unreadable == {"wave:w1": "listed twice in the snapshot"}


@pytest.mark.parametrize(
    "changes",
    [
        [{"version": 2, "id": "wave:w1", "state": "x", "updated_at": T}],  # not after `since`
        [{"version": 9, "id": "wave:w1", "state": "x", "updated_at": T}],  # beyond the reported version
        [{"version": 4, "id": "wave w1", "state": "x", "updated_at": T}],
        [{"version": 4, "id": "wave:w1", "state": "x" * 65, "updated_at": T}],
        [{"version": 5, "id": "wave:w1", "state": "x", "updated_at": T},
         {"version": 4, "id": "wave:w1", "state": "y", "updated_at": T}],
        [{"version": 4, "id": "wave:w1", "state": "x", "updated_at": "=HYPERLINK(\"http://example.org\")"}],
    ],
)
def test_broken_changes_are_invalid_release_data(changes):
    with pytest.raises(InvalidReleaseData):
        validation.changes_result(RID, {"version": 5, "reload": False, "more": False, "changes": changes}, since=3)
