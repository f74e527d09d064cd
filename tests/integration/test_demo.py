"""The demo driver moves releases through realistic states with the same Update a deployment system uses."""

from __future__ import annotations

from temporalio.client import WorkflowExecutionStatus

from release_console.contract.names import MEMO_SUMMARY, QUERY_CHANGES
from release_console.contract.shapes import ChangesRequest, ChangesResult
from release_console.demo import DemoRelease, run_demo


async def test_demo_drives_releases_to_a_terminal_state(client, settings, unique):
    healthy = DemoRelease(f"demo-ok-{unique}", waves=2, clusters=2, apps=3, step_seconds=0.01, failure_rate=0.0)
    failing = DemoRelease(f"demo-bad-{unique}", waves=2, clusters=1, apps=2, step_seconds=0.01, failure_rate=1.0)
    await run_demo(client, settings, (healthy, failing))

    ok = client.get_workflow_handle(f"release:{healthy.key}")
    assert (await ok.result())["state"] == "deployed"
    memo = await (await ok.describe()).memo()
    assert memo[MEMO_SUMMARY]["apps_done"] == memo[MEMO_SUMMARY]["apps_total"] == 12
    assert memo[MEMO_SUMMARY]["counts"]["app"] == {"deployed": 12}

    bad = client.get_workflow_handle(f"release:{failing.key}")
    description = await bad.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    final = (await description.memo())[MEMO_SUMMARY]
    assert final["state"] in {"failed", "rolled_back"}
    assert final["counts"]["app"].get("rolled_back", 0) >= 2, final
    history = await bad.query(QUERY_CHANGES, ChangesRequest(since_version=0, limit=2000), result_type=ChangesResult)
    states_seen = {c.state for c in history.changes}
    assert {"deploying", "verifying", "failed", "rolling_back", "rolled_back"} <= states_seen


async def test_demo_leaves_an_existing_release_alone(client, settings, unique):
    spec = DemoRelease(f"demo-twice-{unique}", waves=1, clusters=1, apps=1, step_seconds=0.01, failure_rate=0.0)
    await run_demo(client, settings, (spec,))
    handle = client.get_workflow_handle(f"release:{spec.key}")
    first_run = (await handle.describe()).run_id
    await run_demo(client, settings, (spec,))
    assert (await handle.describe()).run_id == first_run


async def test_one_failing_demo_release_does_not_stop_the_others(client, settings, unique):
    broken = DemoRelease("not a valid id!", waves=1, clusters=1, apps=1, step_seconds=0.01, failure_rate=0.0)
    healthy = DemoRelease(f"demo-survivor-{unique}", waves=1, clusters=1, apps=2, step_seconds=0.01, failure_rate=0.0)
    await run_demo(client, settings, (broken, healthy))  # must not raise
    assert (await client.get_workflow_handle(f"release:{healthy.key}").result())["state"] == "deployed"
