"""Every way a release workflow ends, against the real dev server: REST (detail and list) shows the workflow's status
and the release's last tree; a closed release whose queries fail is served from its memo summary."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from release_console.contract.shapes import JsonObject, ReleaseWorkflowInput
from release_console.temporal.releases import build_plan, report, start_release
from release_console.workflows.release import ReleaseWorkflow
from tests.helpers import API, eventually


@workflow.defn(name="ReleaseWorkflow")
class FailingRelease(ReleaseWorkflow):
    """The reference release, except that its run fails once an update was applied (a deployment system giving up)."""

    @workflow.run
    async def run(self, input: JsonObject) -> Any:  # the same annotation as @workflow.init's (Temporal compares)
        self._publish()
        await workflow.wait_condition(lambda: self._tree().version >= 1)
        await workflow.wait_condition(workflow.all_handlers_finished)
        raise ApplicationError("the deployment system gave up", non_retryable=True)


async def _closed(handle: Any) -> None:
    """Wait for a workflow's end, whichever it is."""
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()


async def _continued(client: Client, release_id: str, run_id: str | None) -> bool:
    """Whether that run of the release closed by continuing as new."""
    status = (await client.get_workflow_handle(release_id, run_id=run_id).describe()).status
    return status == WorkflowExecutionStatus.CONTINUED_AS_NEW


async def test_every_closed_status_shows_with_its_last_tree(api, admin_headers, client, settings, unique):
    expected = {"completed": "completed", "failed": "failed", "canceled": "canceled", "terminated": "terminated",
                "timed_out": "timed_out", "continued": "running"}  # a run continued as new: its next one runs
    names = tuple(expected)
    plans = {n: build_plan(f"{n.replace('_', '')}-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
             for n in names}
    ids = {n: p.id for n, p in plans.items()}
    app = {n: f"app:{p.id.split(':', 1)[1]}-w1-c1-a1" for n, p in plans.items()}
    queue = f"failing-{uuid.uuid4().hex}"
    runner = UnsandboxedWorkflowRunner()
    async with Worker(client, task_queue=queue, workflows=[FailingRelease], workflow_runner=runner):
        failing = await client.start_workflow("ReleaseWorkflow", ReleaseWorkflowInput(plan=plans["failed"]),
                                              id=ids["failed"], task_queue=queue)
        timing_out = await client.start_workflow(
            "ReleaseWorkflow", ReleaseWorkflowInput(plan=plans["timed_out"]), id=ids["timed_out"],
            task_queue=settings.TEMPORAL_TASK_QUEUE, execution_timeout=timedelta(seconds=1),
        )
        handles = {n: await start_release(client, settings, plans[n]) for n in ("completed", "canceled", "terminated")}
        handles["continued"] = await start_release(client, settings, plans["continued"], max_updates_per_run=1)
        first_run = handles["continued"].result_run_id
        await asyncio.gather(
            report(client, ids["failed"], [(app["failed"], "failed")]),
            report(client, ids["completed"], [(app["completed"], "deployed"), (ids["completed"], "deployed")]),
            report(client, ids["canceled"], [(app["canceled"], "deploying")]),
            report(client, ids["terminated"], [(app["terminated"], "rolling_back")]),
            report(client, ids["continued"], [(app["continued"], "verifying")]),  # its run's one update: it goes on
        )
        await handles["canceled"].cancel()
        await handles["terminated"].terminate("an operator stopped it")
        await asyncio.gather(*(_closed(h) for h in (failing, timing_out, handles["completed"], handles["canceled"],
                                                     handles["terminated"])))
        await eventually(lambda: _continued(client, ids["continued"], first_run), what="the first run continued as new")

        async def detail(name: str) -> dict | None:
            body = (await api.get(f"{API}/releases/{ids[name]}", headers=admin_headers)).json()
            return body if body.get("status") == expected[name] else None

        details = {n: await eventually(lambda n=n: detail(n), what=f"{ids[n]} {expected[n]}") for n in names}

        in_list: dict[str, str | None] = {}
        rows: list[str] = []

        async def listed() -> bool:  # visibility follows a close a moment later
            body = (await api.get(f"{API}/releases", params={"limit": 1000}, headers=admin_headers)).json()
            statuses = {i["id"]: i["status"] for i in body["items"]}
            in_list.update({n: statuses.get(ids[n]) for n in names})
            rows.extend(i["id"] for i in body["items"] if i["id"] == ids["continued"])
            return in_list == expected

        with contextlib.suppress(AssertionError):
            await eventually(listed, what="every release in the list with its final status")
        rows.clear()
        await listed()

    assert in_list == expected and rows == [ids["continued"]]  # the run that continued as new is not listed apart
    last = {n: details[n]["children"][0]["children"][0]["children"][0]["children"][0] for n in names}
    assert {n: (v["id"], v["state"]) for n, v in last.items()} == {
        "completed": (app["completed"], "deployed"), "failed": (app["failed"], "failed"),
        "canceled": (app["canceled"], "deploying"), "terminated": (app["terminated"], "rolling_back"),
        "timed_out": (app["timed_out"], "pending"), "continued": (app["continued"], "verifying"),
    }
    assert details["completed"]["state"] == "deployed" and details["completed"]["version"] == 1
    assert details["continued"]["version"] == 1 and details["continued"]["final_summary"] is None
    assert details["failed"]["final_summary"]["counts"]["app"] == {"failed": 1, "pending": 1}
    assert all(d["partial"] is False and d["entity_count"] == 6 for d in details.values())


async def test_closed_release_whose_queries_fail_is_served_from_its_memo(api, admin_headers, client, unique):
    release_id = f"release:memo-{unique}"
    memo = {"state": "deploying", "version": 7, "updated_at": "2026-12-01T10:00:00Z", "apps_total": 3,
            "apps_done": 1, "entity_count": 7,
            "counts": {"wave": {"deploying": 1}, "app": {"deployed": 1, "pending": 2}}}
    queue = f"nobody-{uuid.uuid4().hex}"  # no worker polls it: no query of this workflow can be answered
    handle = await client.start_workflow("ReleaseWorkflow", id=release_id, task_queue=queue, memo={"summary": memo})
    await handle.terminate("its worker is gone")

    response = await api.get(f"{API}/releases/{release_id}", headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "terminated" and body["partial"] is True and body["stale"] is True
    assert (body["state"], body["version"], body["updated_at"]) == ("deploying", 7, "2026-12-01T10:00:00Z")
    assert body["counts"] == memo["counts"] and (body["apps_done"], body["apps_total"]) == (1, 3)
    assert body["children"] == [] and body["entity_count"] == 1  # the release node alone: the tree is unknown
    assert body["final_summary"]["state"] == "deploying"
