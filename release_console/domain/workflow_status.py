"""Workflow status (Temporal's execution status) next to a release's own state, and the list's status filter.

A release's *state* is what its workflow reports (``deploying``, ``failed`` …); its *status* is Temporal's view of
the workflow (``running``, ``completed``, ``failed``, ``terminated``, ``canceled``, ``timed_out``). A release can be
``deploying`` in a workflow that was terminated: the list shows both wherever the status is not ``running``. The
same filter values serve the UI (``/?status=closed``) and REST (``GET /releases?status=closed``).
"""

from __future__ import annotations

RUNNING = "running"
PROBLEM_STATUSES = frozenset({"failed", "terminated", "canceled", "timed_out"})
"""Statuses of a workflow that did not complete on its own."""

STATUS_FILTERS: dict[str, str] = {
    "running": "running",
    "closed": "closed (any end)",
    "failed-or-terminated": "failed, terminated, cancelled or timed out",
    "completed": "completed",
    "failed": "failed",
    "terminated": "terminated",
    "canceled": "cancelled",
    "timed_out": "timed out",
}
"""Accepted ``status`` filter values and what each selects."""

STATUS_LABELS = {"canceled": "cancelled", "timed_out": "timed out", "continued_as_new": "continued as new"}


class InvalidStatusFilter(ValueError):
    """A status filter value that is not one of STATUS_FILTERS."""


def parse_status_filter(value: str | None) -> str | None:
    """A valid status filter value or None (unset); InvalidStatusFilter naming the accepted values."""
    if value is None or value == "":
        return None
    if value not in STATUS_FILTERS:
        shown = value if len(value) <= 40 else f"{value[:40]}…"
        raise InvalidStatusFilter(f"unknown status {shown!r}; use one of {', '.join(STATUS_FILTERS)}")
    return value


def status_matches(status: str, wanted: str | None) -> bool:
    """Whether a workflow ``status`` passes the filter ``wanted`` (None: everything)."""
    if wanted is None:
        return True
    if wanted == "running":
        return status == RUNNING
    if wanted == "closed":
        return status != RUNNING
    if wanted == "failed-or-terminated":
        return status in PROBLEM_STATUSES
    return status == wanted


def status_label(status: str) -> str:
    """How a status reads in the UI (``timed_out`` → ``timed out``)."""
    return STATUS_LABELS.get(status, status)
