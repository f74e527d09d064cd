"""Releases that disappear (``temporal workflow delete``, or retention): open pages say "no longer exists" within 5 s
and REST answers 404 ``release_not_found``, for running releases (their poll's ``changes`` query answers NOT_FOUND, or
the release list's listing no longer finds them) and for closed ones (the listing no longer finds them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.readpath.errors import ReleaseNotFound
from release_console.readpath.gateway import TemporalGateway
from release_console.readpath.mirror import MirrorRegistry
from release_console.readpath.release_list import ReleaseList
from release_console.readpath.stats import ReadPathStats
from release_console.temporal.client import connect
from release_console.temporal.embedded import temporal_binary
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually
from tests.helpers import login as api_login
from tests.integration.dev_server import FAST_DELETE, DevServer, WorkerProcess
from tests.integration.ui.helpers import banner_texts, freshness_meta, login, see, start

SPEC_SECONDS = 5.0


async def delete_workflow(settings: Settings, workflow_id: str) -> None:
    """``temporal workflow delete`` (the CLI an operator would use), run without blocking the event loop."""
    process = await asyncio.create_subprocess_exec(
        temporal_binary(), "workflow", "delete", "--address", settings.temporal_address,
        "--namespace", settings.TEMPORAL_NAMESPACE, "--workflow-id", workflow_id,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate(b"y\n")  # it asks for confirmation (--yes is only for --query)
    assert process.returncode == 0, output.decode()


async def gone_from_temporal(client: Client, workflow_id: str) -> None:
    """Wait until describe answers NOT_FOUND (deletion is carried out in the background)."""

    async def missing() -> bool:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except Exception:
            return True
        return False

    deadline = time.monotonic() + 10
    while not await missing():
        assert time.monotonic() < deadline, f"{workflow_id} was not deleted"
        await asyncio.sleep(0.05)


async def test_deleted_watched_release_says_no_longer_exists_and_rest_404(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"dl-{unique}", waves=1, clusters=1, apps=2)
    await login(user, f"/releases/{release_id}")
    await see(user, marker="release-title")
    headers = await api_login(user.http_client, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert (await user.http_client.get(f"/api/v1/releases/{release_id}", headers=headers)).status_code == 200

    began = time.monotonic()
    await delete_workflow(settings, release_id)
    seen: dict[str, float] = {}

    async def rest_404() -> bool:
        response = await user.http_client.get(f"/api/v1/releases/{release_id}", headers=headers)
        return response.status_code == 404 and response.json()["code"] == "release_not_found"

    while len(seen) < 2 and time.monotonic() - began < 15:
        if "page" not in seen and any("no longer exists" in t for t in banner_texts(user, "warning")):
            seen["page"] = time.monotonic() - began
        if "rest" not in seen and await rest_404():
            seen["rest"] = time.monotonic() - began
        await asyncio.sleep(0.05)
    print(f"\nrelease deleted → 'no longer exists' on its page after {seen.get('page', -1):.2f}s, "
          f"REST 404 after {seen.get('rest', -1):.2f}s")
    assert set(seen) == {"page", "rest"}, seen
    assert max(seen.values()) <= SPEC_SECONDS, seen
    await see(user, marker="release-title")  # the page keeps the last known state
    assert freshness_meta(user)["status"] == "deleted"  # the chip says "final state (workflow deleted)"


@pytest.fixture
async def registry(client: Client, settings: Settings):
    """A mirror registry on the session's dev server, with no release list running: only its pollers see Temporal."""
    gateway = TemporalGateway(client, settings, ReadPathStats())
    mirrors = MirrorRegistry(gateway, settings, ReleaseList(gateway, settings))
    yield mirrors
    await mirrors.stop()


@pytest.fixture(scope="module")
def fast_delete_temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """A dev server that deletes just-closed workflows within seconds (FAST_DELETE), with a worker of its own."""
    directory = tmp_path_factory.mktemp("fast-delete")
    server = DevServer(directory, extra=FAST_DELETE)
    server.start()
    worker = WorkerProcess(server.address, directory)
    worker.start()
    try:
        yield server
    finally:
        worker.stop()
        server.stop()


async def test_poll_changes_not_found_marks_the_release_deleted(
    registry: MirrorRegistry, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"dq-{unique}", waves=1, clusters=1, apps=1)
    mirror = await registry.get(release_id)
    heard: list[str] = []
    mirror.add_listener(lambda m, _changes: heard.append(m.status))
    await delete_workflow(settings, release_id)
    await eventually(lambda: mirror.deleted, timeout=SPEC_SECONDS, what="the mirror to be marked deleted")
    assert "deleted" in heard and mirror.error is None
    assert registry.peek(release_id) is None and release_id not in {m.release_id for m in registry.mirrors}
    with pytest.raises(ReleaseNotFound):
        await registry.get(release_id)


async def test_closed_release_is_rechecked_and_found_deleted(fast_delete_temporal: DevServer, unique: str) -> None:
    await fast_delete_temporal.wait_healthy()
    settings = Settings(TEMPORAL_ADDRESS=fast_delete_temporal.address)
    client = await connect(settings)
    gateway = TemporalGateway(client, settings, ReadPathStats())
    releases = ReleaseList(gateway, settings)
    registry = MirrorRegistry(gateway, settings, releases)
    registry.start()
    releases.start()
    try:
        await _closed_then_deleted(registry, client, settings, unique)
    finally:
        await registry.stop()
        await releases.stop()


async def _closed_then_deleted(registry: MirrorRegistry, client: Client, settings: Settings, unique: str) -> None:
    release_id = await start(client, settings, f"dc-{unique}", waves=1, clusters=1, apps=1)
    mirror = await registry.get(release_id)
    await client.get_workflow_handle(release_id).terminate("done with it")
    await eventually(lambda: mirror.closed, timeout=SPEC_SECONDS, what="the mirror to see the release closed")
    assert not mirror.deleted
    await delete_workflow(settings, release_id)
    await gone_from_temporal(client, release_id)
    began = time.monotonic()
    await eventually(lambda: mirror.deleted, timeout=SPEC_SECONDS, what="the closed mirror to be found deleted")
    print(f"\nclosed release deleted → the release list noticed it after {time.monotonic() - began:.2f}s")
    with pytest.raises(ReleaseNotFound):
        await registry.get(release_id)
