"""A workflow that claims to be a release but answers off-contract: only that release is 502, others still work."""

from __future__ import annotations

import uuid

from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from release_console.temporal.releases import build_plan, start_release

API = "/api/v1"


@workflow.defn(name="ReleaseWorkflow")
class BrokenRelease:
    """Registers as a release but its snapshot lists an app before its parents."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query(name="snapshot")
    def snapshot(self, request: dict) -> dict:
        release_id = workflow.info().workflow_id
        key = release_id.split(":", 1)[1]
        rows = [
            [release_id, None, "deploying", "2025-01-01T00:00:00Z"],
            [f"app:{key}-a1", f"bundle:{key}-b", "pending", None],  # child before its parent
            [f"wave:{key}-w", release_id, "pending", None],
        ]
        return {"version": 0, "total": len(rows), "rows": rows, "next_cursor": None}

    @workflow.query(name="changes")
    def changes(self, request: dict) -> dict:
        return {"version": "zero", "reload": "no", "more": False, "changes": []}  # wrong types


async def test_off_contract_release_is_502_while_others_answer(api, admin_headers, client, settings, unique):
    healthy = build_plan(f"fine-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, healthy)
    queue = f"broken-{uuid.uuid4().hex}"
    broken_id = f"release:broken-{unique}"
    async with Worker(client, task_queue=queue, workflows=[BrokenRelease], workflow_runner=UnsandboxedWorkflowRunner()):
        handle = await client.start_workflow("ReleaseWorkflow", id=broken_id, task_queue=queue)
        try:
            broken = await api.get(f"{API}/releases/{broken_id}", headers=admin_headers)
            fine = await api.get(f"{API}/releases/{healthy.id}", headers=admin_headers)
            again = await api.get(f"{API}/releases/{broken_id}/entities/{broken_id}", headers=admin_headers)
        finally:
            await handle.terminate("test over")
    assert broken.status_code == 502, broken.text
    assert broken.json()["code"] == "release_data_invalid" and broken_id in broken.json()["detail"]
    assert "Traceback" not in broken.text
    assert again.status_code == 502 and again.json()["code"] == "release_data_invalid"
    assert fine.status_code == 200 and fine.json()["id"] == healthy.id
