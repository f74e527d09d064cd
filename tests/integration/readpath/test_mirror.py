"""The read path against the real Temporal server: gateway, shared mirrors, release list, counted calls."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.worker import Worker

from release_console.readpath.errors import ReleaseNotFound
from release_console.readpath.gateway import TemporalGateway
from release_console.readpath.mirror import MirrorRegistry
from release_console.readpath.release_list import ReleaseList
from release_console.readpath.stats import ReadPathStats
from release_console.temporal.releases import build_plan, report, start_release
from release_console.workflows.release import ReleaseWorkflow
from tests.helpers import after_cycles


async def until(predicate, timeout: float = 10.0, step: float = 0.05):
    """Poll ``predicate`` until it is truthy or the deadline passes; return its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(step)


@pytest.fixture
async def readpath(client, settings, request):
    """A gateway, a mirror registry and a release list on the test server (with the settings a test's indirect
    parameter changes); stopped afterwards."""
    settings = settings.model_copy(update=getattr(request, "param", {}))
    stats = ReadPathStats()
    gateway = TemporalGateway(client, settings, stats)
    releases = ReleaseList(gateway, settings)
    mirrors = MirrorRegistry(gateway, settings, releases)
    mirrors.start()
    releases.start()
    yield gateway, mirrors, releases, stats
    await mirrors.stop()
    await releases.stop()


async def test_mirror_loads_tree_and_follows_updates(client, settings, readpath, unique):
    _gateway, mirrors, _releases, _stats = readpath
    plan = build_plan(f"rp-{unique}", waves=2, clusters_per_wave=2, apps_per_bundle=3)
    await start_release(client, settings, plan)
    await report(client, plan.id, [(f"app:rp-{unique}-w1-c1-a1", "deployed")])

    mirror = await mirrors.get(plan.id)
    assert mirror.version == 1
    assert mirror.tree.root.counts["app"] == {"pending": 11, "deployed": 1}
    assert mirror.tree.get(f"cluster:rp-{unique}-w1-c1").counts["app"] == {"pending": 2, "deployed": 1}
    seen: list = []
    remove = mirror.add_listener(lambda m, changes: seen.extend(changes))

    result = await report(client, plan.id, [(f"app:rp-{unique}-w2-c2-a3", "failed")])
    assert await mirror.wait_for_version(1, timeout=5) == result.version
    assert mirror.tree.get(f"app:rp-{unique}-w2-c2-a3").state == "failed"
    assert mirror.tree.root.counts["app"] == {"pending": 10, "deployed": 1, "failed": 1}
    assert [(c.id, c.state, c.version) for c in seen] == [(f"app:rp-{unique}-w2-c2-a3", "failed", 2)]
    remove()
    assert mirror.listener_count == 0


async def test_unknown_release_is_not_found_and_negative_cached(readpath, unique):
    _gateway, mirrors, _releases, stats = readpath
    release_id = f"release:missing-{unique}"
    for _ in range(3):
        with pytest.raises(ReleaseNotFound):
            await mirrors.get(release_id)
    assert stats.for_release(release_id)["describe"] == 1


async def test_many_concurrent_readers_cost_one_load(client, settings, readpath, unique):
    _gateway, mirrors, _releases, stats = readpath
    plans = [build_plan(f"crowd{n}-{unique}", waves=1, clusters_per_wave=2, apps_per_bundle=2) for n in (1, 200)]
    for plan in plans:
        await start_release(client, settings, plan)
    one, crowd = plans
    await mirrors.get(one.id)
    got = await asyncio.gather(*(mirrors.get(crowd.id) for _ in range(200)))
    assert all(m is got[0] for m in got)
    load_calls = lambda rid: {k: v for k, v in stats.for_release(rid).items() if k.startswith("load:")}  # noqa: E731
    assert load_calls(crowd.id) == load_calls(one.id)
    assert load_calls(crowd.id)["load:query:snapshot"] == 1


async def test_closed_release_is_loaded_once_and_not_polled(client, settings, readpath, unique):
    _gateway, mirrors, _releases, stats = readpath
    plan = build_plan(f"done-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, plan)
    await report(client, plan.id, [(plan.id, "deployed")])
    handle = client.get_workflow_handle(plan.id)
    await handle.result()
    mirror = await mirrors.get(plan.id)
    assert mirror.status == "completed" and mirror.closed
    assert mirror.final_summary is not None and mirror.final_summary["state"] == "deployed"
    before = stats.for_release(plan.id).get("query:changes", 0)
    running = build_plan(f"open-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, running)
    beside = await mirrors.get(running.id)  # an open release polled by the same registry: a clock of poll cycles
    await after_cycles(lambda: beside.as_of, 3, what="the open release's poller")
    assert stats.for_release(plan.id).get("query:changes", 0) == before


async def test_release_list_from_visibility(client, settings, readpath, unique):
    _gateway, _mirrors, releases, stats = readpath
    plans = [build_plan(f"list{n}-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2) for n in range(3)]
    for plan in plans:
        await start_release(client, settings, plan)
    await report(client, plans[0].id, [(f"app:list0-{unique}-w1-c1-a1", "deployed")])

    async def listed() -> bool:
        await releases.refresh()
        item = releases.get(plans[0].id)
        return all(releases.get(p.id) for p in plans) and item is not None and item.apps_done == 1

    for _ in range(50):
        if await listed():
            break
        await asyncio.sleep(0.2)
    first = releases.get(plans[0].id)
    assert first.progress == 50 and first.apps_total == 2 and first.status == "running"
    ids = [i.id for i in releases.items]
    assert ids.index(plans[2].id) < ids.index(plans[0].id)  # newest first
    page, cursor = releases.page(limit=1)
    assert len(page) == 1 and cursor
    second, _ = releases.page(limit=1, cursor=cursor)
    assert second[0].id != page[0].id
    assert stats.calls["list"] >= 1
    assert not [k for p in plans for k in stats.for_release(p.id) if "query:" in k]  # listed without a query


async def test_a_mirror_stops_after_its_quiet_period_but_not_while_watched(client, settings, unique):
    quick = settings.model_copy(update={"MIRROR_IDLE_SECONDS": 0.6})
    stats = ReadPathStats()
    gateway = TemporalGateway(client, quick, stats)
    mirrors = MirrorRegistry(gateway, quick, ReleaseList(gateway, quick))
    mirrors.start()
    try:
        plan = build_plan(f"idle-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
        await start_release(client, settings, plan)
        mirror = await mirrors.get(plan.id)
        remove = mirror.add_listener(lambda _m, _c: None)  # a viewer (UI page, SSE stream) keeps it alive
        await asyncio.sleep(2.0)
        assert mirrors.peek(plan.id) is mirror and not mirror.retired
        remove()
        assert await until(lambda: mirrors.peek(plan.id) is None, timeout=5), "the idle mirror was not stopped"
        assert mirror.retired
        polls = stats.calls["query:changes"]
        await asyncio.sleep(1.0)
        assert stats.calls["query:changes"] == polls  # its poller is gone: no more queries for it
        again = await mirrors.get(plan.id)  # the next reader starts a fresh one
        assert again is not mirror and again.version == 0
    finally:
        await mirrors.stop()


# A query that reaches the new run before a worker ran its first task waits for that task. The session's worker is
# busy with every other test's releases of this process, and on a busy 2-core machine it took longer than a poll's
# timeout (2 s, then 5 s): the release runs on a worker and task queue of this test's own, with a 5 s poll timeout;
# what is tested here is following the runs, not how long a worker takes (test_outages.py tests the timeout).
@pytest.mark.parametrize("readpath", [{"TEMPORAL_POLL_TIMEOUT_SECONDS": 5.0}], indirect=True)
async def test_a_mirror_follows_a_release_across_continue_as_new(client, settings, readpath, unique):
    _gateway, mirrors, _releases, stats = readpath
    key = f"can-{unique}"
    own_queue = settings.model_copy(update={"TEMPORAL_TASK_QUEUE": f"can-{unique}"})
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=4)
    async with Worker(client, task_queue=own_queue.TEMPORAL_TASK_QUEUE, workflows=[ReleaseWorkflow]):
        handle = await start_release(client, own_queue, plan, max_updates_per_run=2)
        first_run = (await handle.describe()).run_id
        mirror = await mirrors.get(plan.id)
        apps = [f"app:{key}-w1-c1-a{i}" for i in range(1, 5)]
        last = None
        for app, state in zip(apps, ("deploying", "deployed", "failed", "rolled_back"), strict=True):
            last = await report(client, plan.id, [(app, state)])  # the run continues-as-new every 2 updates
        assert (await client.get_workflow_handle(plan.id).describe()).run_id != first_run
        assert await mirror.wait_for_version(last.version - 1, timeout=10) == last.version == 4
        assert [mirror.tree.get(a).state for a in apps] == ["deploying", "deployed", "failed", "rolled_back"]
        assert mirror.status == "running" and mirror.error is None and mirror.reloads == 0  # nothing noticed
        assert not [k for k in stats.for_release(plan.id) if k.startswith("failed:")]  # no call failed across runs
