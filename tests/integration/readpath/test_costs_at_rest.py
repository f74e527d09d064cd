"""What the read path costs while nothing changes: the release list asks visibility only what moved, and a quiet
watched release is not queried until the list sees it move or close (against the session's real Temporal server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from release_console.core.config import Settings
from release_console.readpath import mirror as mirror_module
from release_console.readpath.errors import WorkerNotResponding
from release_console.readpath.gateway import TemporalGateway
from release_console.readpath.mirror import MirrorRegistry
from release_console.readpath.release_list import ReleaseList
from release_console.readpath.stats import ReadPathStats
from release_console.temporal.releases import build_plan, report, start_release
from release_console.workflows.release import ReleaseWorkflow
from tests.helpers import eventually
from tests.integration.readpath.test_deleted_release import delete_workflow, gone_from_temporal

QUIET_POLL_SECONDS = 60.0


@pytest.fixture
async def quiet_readpath(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[MirrorRegistry, ReleaseList, ReadPathStats]]:
    """A started release list and mirror registry whose quiet releases are asked only every minute."""
    monkeypatch.setattr(mirror_module, "QUIET_AFTER_SECONDS", 0.5)
    quiet = settings.model_copy(update={"MIRROR_QUIET_POLL_SECONDS": QUIET_POLL_SECONDS})
    stats = ReadPathStats()
    gateway = TemporalGateway(client, quiet, stats)
    releases = ReleaseList(gateway, quiet)
    mirrors = MirrorRegistry(gateway, quiet, releases)
    mirrors.start()
    releases.start()
    yield mirrors, releases, stats
    await mirrors.stop()
    await releases.stop()


async def test_the_list_lists_what_moved_and_a_full_listing_drops_the_deleted(
    client: Client, settings: Settings, quiet_readpath: tuple[MirrorRegistry, ReleaseList, ReadPathStats], unique: str
) -> None:
    _mirrors, releases, _stats = quiet_readpath
    await eventually(lambda: releases.full_listings == 1, what="the first (full) listing")
    plan = build_plan(f"inc-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    await eventually(lambda: releases.get(plan.id), what="the new release in the list")
    await report(client, plan.id, [(f"app:inc-{unique}-w1-c1-a1", "deployed")])
    await eventually(lambda: releases.get(plan.id).apps_done == 1, what="its progress in the list")
    assert releases.full_listings == 1 and releases.incremental_listings > 0  # seen without listing everything

    await delete_workflow(settings, plan.id)  # nobody watches it: only a full listing can notice it is gone
    await gone_from_temporal(client, plan.id)
    await asyncio.sleep(2 * releases.refresh_seconds)
    assert releases.get(plan.id) is not None

    async def dropped() -> bool:
        await releases.refresh(full=True)
        return releases.get(plan.id) is None

    await eventually(dropped, timeout=10, step=0.5, what="a full listing to drop the deleted release")


async def test_a_quiet_watched_release_is_not_polled_until_the_list_sees_it_move_or_close(
    client: Client, settings: Settings, quiet_readpath: tuple[MirrorRegistry, ReleaseList, ReadPathStats], unique: str
) -> None:
    mirrors, releases, stats = quiet_readpath
    plan = build_plan(f"quiet-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    mirror = await mirrors.get(plan.id)
    mirror.add_listener(lambda _m, _c: None)  # watched, like an open page or an SSE stream
    await eventually(lambda: mirror._poll_interval() == QUIET_POLL_SECONDS, what="the mirror to count as quiet")
    polls = stats.for_release(plan.id).get("poll:query:changes", 0)
    listings = releases.incremental_listings
    await eventually(lambda: releases.incremental_listings >= listings + 3, what="three more listings")
    assert stats.for_release(plan.id).get("poll:query:changes", 0) <= polls + 1  # not every MIRROR_POLL_SECONDS

    result = await report(client, plan.id, [(f"app:quiet-{unique}-w1-c1-a1", "deploying")])
    assert await mirror.wait_for_version(0, timeout=10) == result.version  # woken by the list, not by its timer

    await client.get_workflow_handle(plan.id).terminate("stopped by an operator")
    await eventually(lambda: mirror.status == "terminated", what="the mirror to see the release terminated")
    assert mirror.final_summary is not None and mirror.final_summary.get("version") == result.version
    assert stats.for_release(plan.id).get("describe", 0) == 2  # the load's and the close's: none while polling


async def test_a_quiet_release_whose_worker_was_away_recovers_at_the_poll_rate_not_the_quiet_one(
    client: Client, settings: Settings, quiet_readpath: tuple[MirrorRegistry, ReleaseList, ReadPathStats], unique: str
) -> None:
    """A worker coming back changes nothing that visibility sees, so a stale mirror must not wait for the quiet
    poll (a minute here, 30 s in production) to find out: it polls at MIRROR_POLL_SECONDS while stale."""
    mirrors, _releases, _stats = quiet_readpath
    own_queue = settings.model_copy(update={"TEMPORAL_TASK_QUEUE": f"quiet-worker-{unique}"})
    plan = build_plan(f"away-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    async with Worker(client, task_queue=own_queue.TEMPORAL_TASK_QUEUE, workflows=[ReleaseWorkflow]):
        await start_release(client, own_queue, plan)
        mirror = await mirrors.get(plan.id)
        mirror.add_listener(lambda _m, _c: None)
        await eventually(lambda: mirror._poll_interval() == QUIET_POLL_SECONDS, what="the mirror to count as quiet")
    mirror.wake()  # a poll while the release's only worker is away
    await eventually(lambda: isinstance(mirror.error, WorkerNotResponding), timeout=30, what="the mirror stale")
    assert mirror._poll_interval() == settings.MIRROR_POLL_SECONDS
    async with Worker(client, task_queue=own_queue.TEMPORAL_TASK_QUEUE, workflows=[ReleaseWorkflow]):
        await eventually(lambda: mirror.error is None, timeout=15, what="the mirror fresh again")
