"""Workflow status filter values."""

from __future__ import annotations

import pytest

from release_console.domain.workflow_status import (
    InvalidStatusFilter,
    parse_status_filter,
    status_matches,
)


def test_status_filter_values() -> None:
    assert status_matches("running", "running") and not status_matches("completed", "running")
    assert status_matches("terminated", "closed") and not status_matches("running", "closed")
    for status in ("failed", "terminated", "canceled", "timed_out"):
        assert status_matches(status, "failed-or-terminated")
    assert not status_matches("completed", "failed-or-terminated")
    assert status_matches("timed_out", "timed_out") and status_matches("running", None)
    assert parse_status_filter("") is None and parse_status_filter("closed") == "closed"
    with pytest.raises(InvalidStatusFilter, match="use one of running, closed"):
        parse_status_filter("bogus")
