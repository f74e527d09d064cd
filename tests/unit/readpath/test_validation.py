"""Query results that break the contract are refused as InvalidReleaseData (the release is marked broken)."""

from __future__ import annotations

import pytest

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
        {"version": 3, "total": 2, "rows": [[RID, None, "pending"]]},
        {"version": 3, "total": 2, "rows": [["not an id", None, "pending", None]]},
        {"version": 3, "total": 2, "rows": [[RID, None, "", None]]},
        {"version": 3, "total": 2, "rows": [[RID, None, 7, None]]},
        {"version": -1, "total": 2, "rows": GOOD_ROWS},
        {"version": 3, "total": 2, "rows": [[RID, None, "pending", "yesterday"]]},
        {"version": 3, "total": 2, "rows": [[RID, None, "pending", 12]]},
        {"version": 3, "total": 2, "rows": [[RID, None, "pending", None], ["wave:w1", 5, "pending", None]]},
        {"version": 3, "total": 2, "rows": [(RID, None, "pending", None)]},
    ],
)
def test_broken_snapshot_is_invalid_release_data(raw):
    with pytest.raises(InvalidReleaseData) as caught:
        checked_page(raw)
    assert caught.value.status == 502 and caught.value.code == "release_data_invalid" and RID in str(caught.value)


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
    with pytest.raises(InvalidReleaseData):
        validation.SnapshotChecker(RID).check(rows)


def test_rows_are_checked_across_pages():
    checker = validation.SnapshotChecker(RID)
    checker.check(GOOD_ROWS)
    checker.check([["cluster:c1", "wave:w1", "pending", T]])  # its parent came on the page before
    with pytest.raises(InvalidReleaseData, match="appears twice"):
        checker.check([["wave:w1", RID, "pending", T]])
