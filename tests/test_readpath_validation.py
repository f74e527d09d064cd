"""Query results that break the contract are refused as InvalidReleaseData (the release is marked broken)."""

from __future__ import annotations

import pytest

from release_console.readpath import validation
from release_console.readpath.errors import InvalidReleaseData

RID = "release:r1"
GOOD_ROWS = [[RID, None, "pending", None], ["wave:w1", RID, "pending", None]]


def test_good_snapshot_and_changes_pass():
    page = validation.snapshot_page(RID, {"version": 3, "total": 2, "rows": GOOD_ROWS, "next_cursor": None})
    assert page.rows == GOOD_ROWS and page.version == 3
    result = validation.changes_result(
        RID, {"version": 5, "reload": False, "more": False, "changes": [
            {"version": 4, "id": "wave:w1", "state": "deploying", "updated_at": "t"},
            {"version": 5, "id": "wave:w1", "state": "deployed", "updated_at": "t"},
        ]}, since=3,
    )
    assert [c.state for c in result.changes] == ["deploying", "deployed"]


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"version": "3", "total": 2, "rows": GOOD_ROWS},
        {"version": 3, "total": 2, "rows": [[RID, None, "pending"]]},
        {"version": 3, "total": 2, "rows": [["not an id", None, "pending", None]]},
        {"version": 3, "total": 2, "rows": [[RID, None, "", None]]},
        {"version": 3, "total": 2, "rows": [[RID, None, 7, None]]},
        {"version": -1, "total": 2, "rows": GOOD_ROWS},
    ],
)
def test_broken_snapshot_is_invalid_release_data(raw):
    with pytest.raises(InvalidReleaseData) as caught:
        validation.snapshot_page(RID, raw)
    assert caught.value.status == 502 and caught.value.code == "release_data_invalid" and RID in str(caught.value)


@pytest.mark.parametrize(
    "changes",
    [
        [{"version": 2, "id": "wave:w1", "state": "x", "updated_at": "t"}],  # not after `since`
        [{"version": 9, "id": "wave:w1", "state": "x", "updated_at": "t"}],  # beyond the reported version
        [{"version": 4, "id": "wave w1", "state": "x", "updated_at": "t"}],
        [{"version": 4, "id": "wave:w1", "state": "x" * 65, "updated_at": "t"}],
        [{"version": 5, "id": "wave:w1", "state": "x", "updated_at": "t"},
         {"version": 4, "id": "wave:w1", "state": "y", "updated_at": "t"}],
    ],
)
def test_broken_changes_are_invalid_release_data(changes):
    with pytest.raises(InvalidReleaseData):
        validation.changes_result(RID, {"version": 5, "reload": False, "more": False, "changes": changes}, since=3)


@pytest.mark.parametrize(
    "rows",
    [
        [["wave:w1", None, "pending", None]],  # root is not the release
        [[RID, None, "pending", None], ["app:a1", RID, "pending", None]],  # skips levels
        [[RID, None, "pending", None], ["wave:w1", "wave:w0", "pending", None]],  # parent not listed first
        [[RID, None, "pending", None], [RID, None, "pending", None]],  # duplicate
        [["release:other", None, "pending", None]],  # another release's tree
    ],
)
def test_rows_must_form_the_release_hierarchy(rows):
    known: dict = {}
    with pytest.raises(InvalidReleaseData):
        for row in rows:
            validation.check_tree_row(RID, tuple(row), known)
