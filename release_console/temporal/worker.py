"""The worker that runs the reference workflows (``release-console worker`` or in-process)."""

from __future__ import annotations

import asyncio
from types import TracebackType

from temporalio.client import Client
from temporalio.worker import Worker

from ..core.config import Settings
from ..workflows.accounts import AccountsWorkflow
from ..workflows.accounts_v1 import AccountsWorkflowV1
from ..workflows.release import ReleaseWorkflow
from .client import accounts_namespace, for_namespace

ACCOUNTS_WORKFLOWS = [AccountsWorkflow, AccountsWorkflowV1]
"""The accounts workflow's types: V2, and the first one for the runs started before V2 (until none is open)."""


class WorkerGroup:
    """Workers of several namespaces, run, entered and shut down like one Worker."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    async def run(self) -> None:
        """Run every worker until shut down; if one fails, the others are stopped and the error raised."""
        async with asyncio.TaskGroup() as group:
            for worker in self.workers:
                group.create_task(worker.run())

    async def shutdown(self) -> None:
        """Shut every worker down."""
        await asyncio.gather(*(worker.shutdown() for worker in self.workers))

    async def __aenter__(self) -> WorkerGroup:
        for worker in self.workers:
            await worker.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        for worker in reversed(self.workers):
            await worker.__aexit__(exc_type, exc, tb)


def build_worker(client: Client, settings: Settings) -> Worker | WorkerGroup:
    """A worker for the reference workflows on the configured task queue of the client's namespace; when
    ACCOUNTS_NAMESPACE is another namespace, the accounts workflows are served there instead (a group of two
    workers)."""
    queue = settings.TEMPORAL_TASK_QUEUE
    namespace = accounts_namespace(settings)
    if namespace == client.namespace:
        return Worker(client, task_queue=queue, workflows=[ReleaseWorkflow, *ACCOUNTS_WORKFLOWS])
    return WorkerGroup([
        Worker(client, task_queue=queue, workflows=[ReleaseWorkflow]),
        Worker(for_namespace(client, namespace), task_queue=queue, workflows=ACCOUNTS_WORKFLOWS),
    ])
