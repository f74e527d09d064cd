"""A stub release workflow: registered as ``ReleaseWorkflow`` on a task queue of its own, it answers the contract's
two required queries from the rows and changes it was started with (for tests of what the console does with other
teams' answers, right or wrong)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from release_console.contract.names import DEFAULT_WORKFLOW_TYPE


@workflow.defn(name=DEFAULT_WORKFLOW_TYPE)
class StubRelease:
    """Runs until terminated. Its ``snapshot`` (version 0) is the given rows, whole; its ``changes`` are the given
    ones after the asked version, at the version of the last one (0 without changes)."""

    @workflow.init
    def __init__(self, answers: dict) -> None:
        self.rows: list = answers["rows"]
        self.changes_made: list[dict] = answers["changes"]

    @workflow.run
    async def run(self, answers: dict) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query(name="snapshot")
    def snapshot(self, request: dict) -> dict:
        return {"version": 0, "total": len(self.rows), "rows": self.rows, "next_cursor": None}

    @workflow.query(name="changes")
    def changes(self, request: dict) -> dict:
        return {"version": max((c["version"] for c in self.changes_made), default=0), "reload": False, "more": False,
                "changes": [c for c in self.changes_made if c["version"] > request["since_version"]]}


@contextlib.asynccontextmanager
async def running(client: Client, rows_of: Callable[[str], list], *release_ids: str,
                  changes_of: Callable[[str], list[dict]] = lambda release_id: []
                  ) -> AsyncIterator[list[WorkflowHandle]]:
    """A StubRelease per release id, answering ``rows_of(release_id)`` and ``changes_of(release_id)``, on a worker of
    its own; terminated after."""
    queue = f"stub-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[StubRelease], workflow_runner=UnsandboxedWorkflowRunner()):
        handles = [await client.start_workflow(DEFAULT_WORKFLOW_TYPE, {"rows": rows_of(i), "changes": changes_of(i)},
                                               id=i, task_queue=queue) for i in release_ids]
        try:
            yield handles
        finally:
            for handle in handles:
                await handle.terminate("test over")
