"""The entity index against a real Temporal: every release is searched (not a window), the answer says when the
index is incomplete, an off-contract release is marked without stopping the others, and the file is a cache
rebuilt when deleted or corrupt."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from release_console import services
from release_console.core.config import Settings
from release_console.readpath.entity_index import EntityIndex
from release_console.readpath.gateway import TemporalGateway
from release_console.readpath.release_list import ReleaseList
from release_console.readpath.stats import ReadPathStats
from release_console.temporal.releases import build_plan, start_release
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually, indexed, login
from tests.integration.conftest import usable_console

API = "/api/v1"
OLD_WINDOW = 50
"""The lookup used to search only the newest 50 releases not open in the console."""


async def start_tiny(client: Client, settings: Settings, keys: list[str]) -> list[str]:
    """Start one-app releases in this order (the last is the newest); their ids."""
    ids = []
    for key in keys:
        plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=1)
        await start_release(client, settings, plan)
        ids.append(plan.id)
    return ids


@pytest.fixture
async def own_index(client: Client, settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[[], EntityIndex]]:
    """Start EntityIndex instances of their own (a fast rate, files under tmp_path) on a shared release list."""
    fast = settings.model_copy(update={"DATA_DIR": tmp_path, "ENTITY_INDEX_QUERIES_PER_SECOND": 200.0})
    gateway = TemporalGateway(client, fast, ReadPathStats())
    releases = ReleaseList(gateway, fast)
    releases.start()
    started: list[EntityIndex] = []

    def make() -> EntityIndex:
        index = EntityIndex(gateway, releases, fast)
        index.start()
        started.append(index)
        return index

    yield make
    for index in started:
        await index.stop()
    await releases.stop()


async def held_by(index: EntityIndex, entity_id: str) -> list[str]:
    return [h.release_id for h in await index.holders(entity_id)]


async def test_an_app_of_a_release_beyond_the_newest_fifty_is_found_without_a_query(
    request: pytest.FixtureRequest, console_env: Callable[..., None], client: Client, settings: Settings, unique: str
) -> None:
    began = time.monotonic()
    keys = [f"ix{n:02d}-{unique}" for n in range(OLD_WINDOW + 10)]
    ids = await start_tiny(client, settings, keys)
    oldest_app = f"app:{keys[0]}-w1-c1-a1"
    console_env(ENTITY_INDEX_QUERIES_PER_SECOND="200")
    async with usable_console(request) as console:
        api = console.http_client
        headers = await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)
        running = services.running()
        position = await eventually(lambda: next((n for n, i in enumerate(running.release_list.items)
                                                  if i.id == ids[0]), None), what="the oldest release listed")
        assert position >= OLD_WINDOW  # the old window would never have searched it

        await indexed(oldest_app)
        response = await api.get(f"{API}/entities/{oldest_app}", headers=headers)
        assert response.status_code == 200
        answer = response.json()
        assert answer["release_id"] == ids[0] and answer["entity"]["id"] == oldest_app
        assert [h["release_id"] for h in answer["holders"]] == [ids[0]]
        assert answer["holders"][0]["current"] is True and answer["holders"][0]["source"] == "mirror"
        assert {"complete", "indexed", "total", "unreadable"} <= set(answer)
        indexing = running.entity_index.gateway.stats  # the index counts its own queries apart
        read = await eventually(lambda: [indexing.for_release(rid).get("index:query:snapshot") for rid in ids]
                                if all(indexing.for_release(rid) for rid in ids) else None, what="all 60 read")
        assert read == [1] * len(ids)  # each release read once (one page each)

        timed = []
        for _ in range(20):
            at = time.perf_counter()
            assert (await api.get(f"{API}/entities/app:{keys[5]}-w1-c1-a1", headers=headers)).status_code == 200
            timed.append(time.perf_counter() - at)
        print(f"lookup p95 {sorted(timed)[18] * 1000:.1f} ms over {len(timed)}")
        others = [rid for n, rid in enumerate(ids) if n not in (0, 5)]  # the two looked up: their mirrors loaded
        assert not any(running.stats.for_release(rid) for rid in others)  # a lookup asks no release anything
        stats = (await api.get(f"{API}/stats", headers=headers)).json()["entity_index"]
        assert stats["ready"] and stats["indexed"] >= len(ids) and stats["queries"] >= len(ids)
    print(f"{len(ids)} releases started and found in {time.monotonic() - began:.1f}s")


async def test_answers_say_the_index_is_incomplete_while_it_reads(
    request: pytest.FixtureRequest, console_env: Callable[..., None], client: Client, settings: Settings, unique: str
) -> None:
    older, newer = await start_tiny(client, settings, [f"slow1-{unique}", f"slow2-{unique}"])
    console_env(ENTITY_INDEX_QUERIES_PER_SECOND="0.1")  # one snapshot page now, the next in 10 s
    async with usable_console(request) as console:
        api = console.http_client
        headers = await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)

        await indexed(f"app:slow2-{unique}-w1-c1-a1")  # the newest release is read first
        response = await api.get(f"{API}/entities/app:slow2-{unique}-w1-c1-a1", headers=headers)
        assert response.status_code == 200
        found = response.json()
        assert found["release_id"] == newer and found["complete"] is False
        assert 0 < found["indexed"] < found["total"]
        missing = await api.get(f"{API}/entities/app:slow1-{unique}-w1-c1-a1", headers=headers)
        body = missing.json()
        assert missing.status_code == 404 and body["code"] == "entity_not_found", body
        assert body["complete"] is False and body["indexed"] < body["total"] and "still indexing" in body["detail"]
        assert services.running().release_list.get(older) is not None  # listed, just not indexed yet


@workflow.defn(name="ReleaseWorkflow")
class WrongTypes:
    """Registers as a release; its snapshot answers with the wrong types."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query(name="snapshot")
    def snapshot(self, request: dict) -> dict:
        return {"version": "zero", "total": -1, "rows": "none", "next_cursor": 7}


async def test_an_off_contract_release_is_marked_and_the_others_are_indexed(
    own_index: Callable[[], EntityIndex], client: Client, settings: Settings, unique: str
) -> None:
    queue = f"wrong-{uuid.uuid4().hex}"
    broken_id = f"release:wrong-{unique}"
    async with Worker(client, task_queue=queue, workflows=[WrongTypes], workflow_runner=UnsandboxedWorkflowRunner()):
        handle = await client.start_workflow("ReleaseWorkflow", id=broken_id, task_queue=queue)
        try:
            (before,) = await start_tiny(client, settings, [f"ok1-{unique}"])
            index = own_index()
            (after,) = await start_tiny(client, settings, [f"ok2-{unique}"])
            await eventually(lambda: getattr(index._known.get(broken_id), "error", None), what="the broken one read")
            for release_id, key in ((before, "ok1"), (after, "ok2")):
                async def held(key: str = key) -> list[str]:
                    return await held_by(index, f"app:{key}-{unique}-w1-c1-a1")

                assert await eventually(held, what=f"{release_id} indexed") == [release_id]
        finally:
            await handle.terminate("test over")
    failed = index._known[broken_id]
    assert failed.indexed_at is None and failed.attempts == 1 and "invalid data" in (failed.error or "")
    assert failed.retry_at is not None and failed.retry_at > time.time() + 20  # retried later, with backoff
    progress = index.progress()
    assert progress.unreadable >= 1 and not progress.complete and progress.query_failures >= 1


async def test_a_deleted_or_corrupt_index_file_is_rebuilt(
    own_index: Callable[[], EntityIndex], client: Client, settings: Settings, unique: str
) -> None:
    (release_id,) = await start_tiny(client, settings, [f"rb-{unique}"])
    app = f"app:rb-{unique}-w1-c1-a1"
    first = own_index()

    async def found(index: EntityIndex) -> bool:
        return await held_by(index, app) == [release_id]

    await eventually(lambda: found(first), what="the release indexed")
    path = first.store.path
    await first.stop()

    corrupt(path)
    second = own_index()
    await eventually(lambda: found(second), what="the release indexed again in a rebuilt file")
    await second.stop()

    path.unlink()
    third = own_index()
    await eventually(lambda: found(third), what="the release indexed again in a new file")


def corrupt(path: Path) -> None:
    """Overwrite the index file with bytes that are no SQLite database (and drop its write-ahead log)."""
    path.write_bytes(b"not a database at all" * 512)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
