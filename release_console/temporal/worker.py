"""The worker that runs the reference workflows (``release-console worker`` or in-process)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from ..core.config import Settings
from ..workflows.accounts import AccountsWorkflow
from ..workflows.release import ReleaseWorkflow


def build_worker(client: Client, settings: Settings) -> Worker:
    """A worker for the reference workflows on the configured task queue."""
    return Worker(
        client,
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        workflows=[ReleaseWorkflow, AccountsWorkflow],
    )
