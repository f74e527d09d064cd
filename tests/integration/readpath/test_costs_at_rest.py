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
from release_console.readpath.mirror import MirrorRegistry, ReleaseMirror
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


async def quiet_and_sentinel(
    readpath: tuple[MirrorRegistry, ReleaseList, ReadPathStats], release_ids: list[str]
) -> tuple[list[ReleaseMirror], ReleaseMirror]:
    """Watched releases of one task queue, once the registry made one its queue's sentinel (polled at
    MIRROR_POLL_SECONDS) and the others are quiet, asleep until their quiet poll (three listings without a poll of
    theirs): (the quiet ones, the sentinel)."""
    mirrors, releases, stats = readpath
    watched = [await mirrors.get(release_id) for release_id in release_ids]
    for mirror in watched:
        mirror.add_listener(lambda _m, _c: None)  # watched, like an open page or an SSE stream

    def split() -> tuple[list[ReleaseMirror], ReleaseMirror] | None:
        sentinels = [m for m in watched if m.sentinel]
        quiet = [m for m in watched if not m.sentinel and m._poll_interval() == QUIET_POLL_SECONDS]
        return (quiet, sentinels[0]) if len(sentinels) == 1 and len(quiet) == len(watched) - 1 else None

    quiet, sentinel = await eventually(split, what="a sentinel and quiet mirrors")

    def quiet_polls() -> int:
        return sum(stats.for_release(m.release_id).get("poll:query:changes", 0) for m in quiet)

    async def asleep() -> bool:
        polls, listings = quiet_polls(), releases.incremental_listings
        await eventually(lambda: releases.incremental_listings >= listings + 3, what="three more listings")
        return quiet_polls() == polls

    await eventually(asleep, what="the quiet mirrors asleep")
    return quiet, sentinel


async def test_a_quiet_watched_release_is_not_polled_until_the_list_sees_it_move_or_close(
    client: Client, settings: Settings, quiet_readpath: tuple[MirrorRegistry, ReleaseList, ReadPathStats], unique: str
) -> None:
    _mirrors, releases, stats = quiet_readpath
    release_ids = []
    for name in ("quiet", "other"):
        plan = build_plan(f"{name}-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
        await start_release(client, settings, plan)
        release_ids.append(plan.id)
    [mirror], sentinel = await quiet_and_sentinel(quiet_readpath, release_ids)
    polls = stats.for_release(mirror.release_id).get("poll:query:changes", 0)
    sentinel_polls = stats.for_release(sentinel.release_id).get("poll:query:changes", 0)
    listings = releases.incremental_listings
    await eventually(lambda: releases.incremental_listings >= listings + 3, what="three more listings")
    assert stats.for_release(mirror.release_id).get("poll:query:changes", 0) <= polls + 1  # not every poll interval
    assert stats.for_release(sentinel.release_id).get("poll:query:changes", 0) > sentinel_polls + 1  # its queue's

    app = f"app:{mirror.release_id.removeprefix('release:')}-w1-c1-a1"
    result = await report(client, mirror.release_id, [(app, "deploying")])
    assert await mirror.wait_for_version(0, timeout=10) == result.version  # woken by the list, not by its timer

    await client.get_workflow_handle(mirror.release_id).terminate("stopped by an operator")
    await eventually(lambda: mirror.status == "terminated", what="the mirror to see the release terminated")
    assert mirror.final_summary is not None and mirror.final_summary.get("version") == result.version
    assert stats.for_release(mirror.release_id).get("describe", 0) == 2  # the load's and the close's


async def test_quiet_releases_whose_worker_left_and_came_back_say_so_without_waiting_for_their_quiet_poll(
    client: Client, settings: Settings, quiet_readpath: tuple[MirrorRegistry, ReleaseList, ReadPathStats], unique: str
) -> None:
    """Neither a worker that dies nor one that comes back changes anything visibility sees, and the quiet poll is a
    minute here (30 s in production). The queue's sentinel notices, a witness confirms, and the queue's other
    mirrors are stale at once without a query of their own; once the sentinel answers again, they poll and are
    fresh."""
    own_queue = settings.model_copy(update={"TEMPORAL_TASK_QUEUE": f"quiet-worker-{unique}"})
    release_ids = []
    async with Worker(client, task_queue=own_queue.TEMPORAL_TASK_QUEUE, workflows=[ReleaseWorkflow]):
        for name in ("away", "along", "aside"):
            plan = build_plan(f"{name}-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
            await start_release(client, own_queue, plan)
            release_ids.append(plan.id)
        quiet, sentinel = await quiet_and_sentinel(quiet_readpath, release_ids)
    everyone = [sentinel, *quiet]
    await eventually(lambda: all(isinstance(m.error, WorkerNotResponding) for m in everyone),
                     timeout=QUIET_POLL_SECONDS / 2, what="every mirror of the queue stale")
    held = [m for m in quiet if m.held]
    assert len(held) == 1, "the sentinel and its witness asked; the third only heard it"
    assert own_queue.TEMPORAL_TASK_QUEUE in str(held[0].error)
    assert held[0]._poll_interval() == QUIET_POLL_SECONDS  # it waits for the sentinel instead of asking
    async with Worker(client, task_queue=own_queue.TEMPORAL_TASK_QUEUE, workflows=[ReleaseWorkflow]):
        await eventually(lambda: all(m.error is None for m in everyone), timeout=QUIET_POLL_SECONDS / 2,
                         what="every mirror fresh again")
    assert not held[0].held
