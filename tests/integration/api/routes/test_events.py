"""SSE: a change made through the workflow's Update reaches the event stream, and streams resume by version."""

from __future__ import annotations

import asyncio

from release_console.temporal.releases import build_plan, report, start_release
from tests.integration.api.helpers import event_stream, polls_until_applied

API = "/api/v1"








async def test_update_appears_in_event_stream_and_resume(api, admin_headers, client, settings, unique):
    key = f"sse-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=3)
    await start_release(client, settings, plan)
    url = f"http://test{API}/releases/{plan.id}/events"
    async with event_stream(url, admin_headers) as stream:
        hello = await stream.until(lambda e: e[-1]["event"] == "hello")
        assert hello[-1]["data"]["version"] == 0 and hello[-1]["id"] == "0"
        counted, applied_at_poll, remove = polls_until_applied(plan.id)
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        result = await report(client, plan.id, [(f"app:{key}-w1-c1-a1", "deployed"), (f"app:{key}-w1-c1-a2", "failed")])
        polls_before = counted()
        changes = await stream.until(lambda e: len(e) >= 2)
        delay = loop.time() - sent_at
        remove()
    assert [(e["data"]["id"], e["data"]["state"], e["data"]["version"]) for e in changes] == [
        (f"app:{key}-w1-c1-a1", "deployed", result.version),
        (f"app:{key}-w1-c1-a2", "failed", result.version),
    ]
    assert "id" not in changes[0] and changes[1]["id"] == str(result.version)  # id only on the batch's last event
    # freshness in poll cycles, not seconds: the poll in flight when the update returned, or the next one, sent it
    print(f"SSE change after {delay:.3f}s; applied by poll {applied_at_poll} (report done at poll {polls_before})")
    assert applied_at_poll and applied_at_poll[0] <= polls_before + 1

    second = await report(client, plan.id, [(f"app:{key}-w1-c1-a3", "deploying")])
    async with event_stream(url, {**admin_headers, "Last-Event-ID": str(result.version)}) as stream:
        resumed = await stream.until(lambda e: any(x["event"] == "change" for x in e))
    async with event_stream(f"{url}?since=0", admin_headers) as stream:
        replayed = await stream.until(lambda e: sum(x["event"] == "change" for x in e) >= 3)
    assert [(e["data"]["id"], e["data"]["version"]) for e in resumed if e["event"] == "change"] == [
        (f"app:{key}-w1-c1-a3", second.version)
    ]
    assert [e["data"]["version"] for e in replayed if e["event"] == "change"] == [1, 1, 2]


async def test_stream_ends_when_release_closes(api, admin_headers, client, settings, unique):
    plan = build_plan(f"sse-end-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, plan)
    async with event_stream(f"http://test{API}/releases/{plan.id}/events", admin_headers) as stream:
        await stream.until(lambda e: e[-1]["event"] == "hello")
        await report(client, plan.id, [(plan.id, "deployed")])
        events = await stream.until(lambda e: any(x["event"] == "status" for x in e), timeout=20)
    status = next(e for e in events if e["event"] == "status")
    assert status["data"]["status"] == "completed" and status["data"]["state"] == "deployed"
    assert any(e["event"] == "change" and e["data"]["id"] == plan.id for e in events)


async def test_resume_point_outside_the_log_asks_the_client_to_reload(api, admin_headers, client, settings, unique):
    plan = build_plan(f"sse-reload-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, plan)
    await report(client, plan.id, [(f"app:sse-reload-{unique}-w1-c1-a1", "deploying")])
    url = f"http://test{API}/releases/{plan.id}/events?since=999"  # a version this release never had
    async with event_stream(url, admin_headers) as stream:
        events = await stream.until(lambda e: any(x["event"] == "reload" for x in e))
    reload = next(e for e in events if e["event"] == "reload")
    assert reload["data"]["version"] == 1
    assert not any(e["event"] == "change" for e in events)


async def test_a_mirror_reload_is_announced_not_skipped(api, admin_headers, client, settings, unique):
    from release_console.contract.names import DEFAULT_WORKFLOW_TYPE
    from release_console.contract.shapes import ReleaseWorkflowInput

    key = f"sse-rl-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=5)
    await client.start_workflow(  # a workflow that keeps only 2 changes: one batch of 5 moves its log past any reader
        DEFAULT_WORKFLOW_TYPE, ReleaseWorkflowInput(plan=plan, changes_kept=2), id=plan.id,
        task_queue=settings.TEMPORAL_TASK_QUEUE,
    )
    url = f"http://test{API}/releases/{plan.id}/events"
    async with event_stream(url, admin_headers) as stream:
        await stream.until(lambda e: e[-1]["event"] == "hello")
        result = await report(client, plan.id, [(f"app:{key}-w1-c1-a{i}", "deployed") for i in range(1, 6)])
        events = await stream.until(lambda e: any(x["event"] == "reload" for x in e))
    reload = next(e for e in events if e["event"] == "reload")
    assert reload["data"]["version"] == result.version and reload["id"] == str(result.version)
    assert "fetch it again" in reload["data"]["reason"]
    detail = (await api.get(f"{API}/releases/{plan.id}/entities/app:{key}-w1-c1-a1", headers=admin_headers)).json()
    assert detail["entity"]["state"] == "deployed"  # the reloaded mirror has the change the stream could not replay
