"""The deploy team's worker and writer side: ``python -m tests.foreign_team.worker <address> <task queue>``.

Only temporalio: the team connects with the SDK's default data converter (plain JSON), as any other team would.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker

from .workflow import UPDATE, WORKFLOW_TYPE, TeamDeployFlow


def plan(key: str, apps: int = 2) -> dict[str, Any]:
    """A one-wave release ``release:<key>``: one cluster, its bundle and ``apps`` apps, all pending."""
    bundle = {"id": f"bundle:{key}-b1", "state": "pending",
              "children": [{"id": f"app:{key}-a{i}", "state": "pending", "children": []} for i in range(1, apps + 1)]}
    cluster = {"id": f"cluster:{key}-c1", "state": "pending", "children": [bundle]}
    wave = {"id": f"wave:{key}-w1", "state": "pending", "children": [cluster]}
    return {"id": f"release:{key}", "state": "pending", "children": [wave]}


async def start_deploy(client: Client, task_queue: str, key: str, *, publish: bool = True) -> WorkflowHandle:
    """Start one release (refused if it exists); ``publish=False``: no search attributes, no memo."""
    release = plan(key)
    return await client.start_workflow(
        WORKFLOW_TYPE, {"plan": release, "publish": publish}, id=release["id"], task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )


async def report(handle: WorkflowHandle, *transitions: tuple[str, str]) -> dict[str, int]:
    """Send one batch of state changes through the workflow's update; its ``{"version", "applied"}``."""
    batch = {"transitions": [{"entity_id": entity_id, "state": state} for entity_id, state in transitions]}
    return await handle.execute_update(UPDATE, batch)


async def main(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    worker = Worker(client, task_queue=task_queue, workflows=[TeamDeployFlow])
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
