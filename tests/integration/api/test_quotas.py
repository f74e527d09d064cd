"""What one user may make the console spend: each cap answers 429 with Retry-After, is logged and counted in
/metrics; MAX_MIRRORS evicts the least recently used unwatched mirror, or answers 503 when all are watched; a
stuck event-stream reader holds a bounded queue. A real console (main.py) with low caps, and real Temporal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from release_console import services as services_module
from release_console.api.routes import events
from release_console.temporal.releases import build_plan, start_release
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, login
from tests.integration.api.helpers import event_stream
from tests.integration.conftest import usable_console

API = "/api/v1"
CAPS = {"USER_SSE_STREAMS": "2", "USER_NEW_MIRRORS_PER_MINUTE": "3", "USER_ENTITY_LOOKUPS_PER_MINUTE": "2",
        "MAX_MIRRORS": "3"}


@pytest.fixture
def low_caps(console_env: Callable[..., None]) -> None:
    console_env(**CAPS)


@pytest.fixture
async def capped(low_caps: None, worker_process, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The console's HTTP client, started with the low caps above."""
    async with usable_console(request) as console:
        http_client = console.http_client
        services_module.running().mirrors.evict_grace = 0  # any mirror nobody listens to may go at once here
        yield http_client


async def new_viewer(api: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    admin = await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)
    name, password = f"viewer-{uuid.uuid4().hex[:8]}", "viewer-password-1"
    created = await api.post(f"{API}/users", json={"username": name, "password": password, "role": "viewer"},
                             headers=admin)
    assert created.status_code == 201, created.text
    return name, await login(api, name, password)


async def releases(client, settings, unique: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        plan = build_plan(f"quota-{unique}-{n}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
        await start_release(client, settings, plan)
        ids.append(plan.id)
    return ids


def refused(response: httpx.Response) -> bool:
    return (response.status_code == 429 and response.json()["code"] == "quota_exceeded"
            and int(response.headers["Retry-After"]) >= 1)


async def quota_refusals(api: httpx.AsyncClient, kind: str) -> float:
    """The console's /metrics count of refusals of ``kind``."""
    text = (await api.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return sum(s.value for s in families["release_console_quota_refusals"].samples
               if s.labels.get("kind") == kind and s.name.endswith("_total"))


async def test_event_streams_per_user_are_capped(capped, client, settings, unique, caplog_loguru) -> None:
    name, viewer = await new_viewer(capped)
    [release_id] = await releases(client, settings, unique, 1)
    url = f"http://test{API}/releases/{release_id}/events"
    before = await quota_refusals(capped, "sse_stream")
    async with event_stream(url, viewer) as first, event_stream(url, viewer) as second:
        await first.until(lambda e: e[-1]["event"] == "hello")
        await second.until(lambda e: e[-1]["event"] == "hello")
        third = await capped.get(f"{API}/releases/{release_id}/events", headers=viewer)
        assert refused(third), third.text
        assert "at most 2 event streams" in third.json()["detail"]
        _, other = await new_viewer(capped)  # another user has slots of its own
        async with event_stream(url, other) as others:
            await others.until(lambda e: e[-1]["event"] == "hello")
    async with event_stream(url, viewer) as again:  # the two closed: their slots are free again
        await again.until(lambda e: e[-1]["event"] == "hello")
    assert await quota_refusals(capped, "sse_stream") == before + 1
    assert any("refused sse stream" in m and name in m for m in caplog_loguru)


async def test_new_mirrors_per_user_are_capped_and_watched_releases_stay_free(capped, client, settings, unique):
    _, viewer = await new_viewer(capped)
    ids = await releases(client, settings, unique, 4)
    codes = [(await capped.get(f"{API}/releases/{rid}", headers=viewer)).status_code for rid in ids[:3]]
    assert codes == [200, 200, 200]
    fourth = await capped.get(f"{API}/releases/{ids[3]}", headers=viewer)
    assert refused(fourth) and "releases newly opened" in fourth.json()["detail"]
    assert (await capped.get(f"{API}/releases/{ids[0]}", headers=viewer)).status_code == 200  # mirrored: free
    _, other = await new_viewer(capped)
    assert (await capped.get(f"{API}/releases/{ids[3]}", headers=other)).status_code == 200
    assert await quota_refusals(capped, "new_mirror") >= 1


async def test_entity_lookups_across_releases_are_capped(capped, unique):
    _, viewer = await new_viewer(capped)
    codes = [(await capped.get(f"{API}/entities/app:nowhere-{unique}-{n}", headers=viewer)).status_code
             for n in range(2)]
    assert codes == [404, 404]
    third = await capped.get(f"{API}/entities/app:nowhere-{unique}-3", headers=viewer)
    assert refused(third) and "entity lookups" in third.json()["detail"]
    assert await quota_refusals(capped, "entity_lookup") >= 1


async def test_max_mirrors_evicts_the_least_recently_used_unwatched_one_then_refuses(capped, client, settings,
                                                                                      unique):
    (_, first), (_, second) = await new_viewer(capped), await new_viewer(capped)
    ids = await releases(client, settings, unique, 5)
    mirrors = services_module.running().mirrors
    for rid in ids[:3]:
        assert (await capped.get(f"{API}/releases/{rid}", headers=first)).status_code == 200
    assert (await capped.get(f"{API}/releases/{ids[3]}", headers=second)).status_code == 200
    kept = {m.release_id for m in mirrors.mirrors}
    assert kept == set(ids[1:4])  # MAX_MIRRORS=3: the least recently used unwatched one went
    assert mirrors.evicted == 1
    url = f"http://test{API}/releases/{{}}/events"
    async with event_stream(url.format(ids[1]), first) as one, event_stream(url.format(ids[2]), first) as two, \
            event_stream(url.format(ids[3]), second) as three:
        for stream in (one, two, three):
            await stream.until(lambda e: e[-1]["event"] == "hello")
        full = await capped.get(f"{API}/releases/{ids[4]}", headers=second)  # every mirror is watched now
        assert full.status_code == 503 and full.json()["code"] == "too_many_mirrors", full.text
        assert int(full.headers["Retry-After"]) >= 1
    assert {m.release_id for m in mirrors.mirrors} == set(ids[1:4])  # nothing watched was stopped
    mirrors.evict_grace = 60  # a mirror handed out within the grace is kept for the reader about to listen
    full = await capped.get(f"{API}/releases/{ids[4]}", headers=second)
    assert full.status_code == 503 and full.json()["code"] == "too_many_mirrors"


async def test_a_stuck_stream_reader_holds_a_bounded_queue(capped, client, settings, unique, monkeypatch) -> None:
    """A reader that never reads: past QUEUE_LIMIT batches it is marked to reload once and nothing more is queued."""
    monkeypatch.setattr(events, "QUEUE_LIMIT", 5)
    [release_id] = await releases(client, settings, unique, 1)
    mirror = await services_module.running().mirrors.get(release_id)
    slot = services_module.running().mirrors.quotas.open_stream("stuck-reader")
    stream = events._stream(mirror, None, lambda: None, slot)
    assert (await anext(stream)).startswith("retry:")  # subscribed; from here on nobody reads
    for _ in range(50):
        mirror._notify([])
    queue = stream.ag_frame.f_locals["queue"]
    assert queue.qsize() == 6  # five batches and one "reload", not fifty
    await stream.aclose()
