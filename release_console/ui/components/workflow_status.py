"""The workflow status chip shown next to a release's state wherever the workflow is not running."""

from __future__ import annotations

from nicegui import ui

from ...domain.workflow_status import PROBLEM_STATUSES, RUNNING, status_label


def status_chip(status: str) -> ui.badge | None:
    """A small outlined badge with the workflow status (``terminated``, ``timed out`` …); nothing while running."""
    if status == RUNNING:
        return None
    color = "negative" if status in PROBLEM_STATUSES else "grey-7"
    badge = ui.badge(status_label(status), color=color).props("outline").classes("text-xs")
    badge.tooltip(f"Temporal workflow status: {status_label(status)}")
    return badge.mark(f"workflow-status {status}")
