"""The release list's one filter (REST's ``GET /releases`` and the UI's list views): state, workflow status, id."""

from __future__ import annotations

from release_console.readpath.release_list import ReleaseListItem, matching

ITEMS = [
    ReleaseListItem(id="release:pay-1", state="deploying", status="running", updated_at=None),
    ReleaseListItem(id="release:Pay-2", state="failed", status="terminated", updated_at=None),
    ReleaseListItem(id="release:web-1", state="failed", status="completed", updated_at=None),
]


def ids(items: list[ReleaseListItem]) -> list[str]:
    return [i.id for i in items]


def test_no_filter_keeps_the_list_itself() -> None:
    assert matching(ITEMS) is ITEMS and matching(ITEMS, query="") is ITEMS


def test_state_status_and_id_filters_combine_in_the_order_given() -> None:
    assert ids(matching(ITEMS, state="failed")) == ["release:Pay-2", "release:web-1"]
    assert ids(matching(ITEMS, status="closed")) == ["release:Pay-2", "release:web-1"]
    assert ids(matching(ITEMS, status="failed-or-terminated")) == ["release:Pay-2"]
    assert ids(matching(ITEMS, query="PAY")) == ["release:pay-1", "release:Pay-2"]  # ignoring case
    assert ids(matching(ITEMS, state="failed", status="completed", query="web")) == ["release:web-1"]
    assert matching(ITEMS, state="failed", status="running") == []
