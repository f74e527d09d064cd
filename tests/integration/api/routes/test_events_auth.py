"""SSE streams re-check their caller while open (disabled account, expired token) and end when the console stops."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from release_console import services
from release_console.core.security import create_access_token
from release_console.temporal.releases import build_plan, start_release
from tests.helpers import login
from tests.integration.api.helpers import event_stream

API = "/api/v1"


async def ended(stream) -> None:
    """The server closed the stream (the reader finished) and sent nothing after the last event."""
    await asyncio.wait_for(asyncio.shield(stream.task), 10)
    assert stream.events.empty()


async def started_release(client, settings, unique: str, name: str) -> str:
    plan = build_plan(f"{name}-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, plan)
    return plan.id


async def test_disabled_user_stream_is_told_and_closed(api, admin_headers, client, settings, unique):
    release_id = await started_release(client, settings, unique, "sse-off")
    username, password = f"watcher-{uuid.uuid4().hex[:8]}", "watcher-password-1"
    created = await api.post(
        f"{API}/users", json={"username": username, "password": password, "role": "viewer"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    viewer = await login(api, username, password)
    async with event_stream(f"http://test{API}/releases/{release_id}/events", viewer) as stream:
        assert (await stream.until(lambda e: e[-1]["event"] == "hello"))[-1]["event"] == "hello"
        disabled = await api.patch(f"{API}/users/{username}", json={"enabled": False}, headers=admin_headers)
        assert disabled.status_code == 200, disabled.text
        events = await stream.until(lambda e: e[-1]["event"] == "unauthorized")
        assert events and events[-1]["event"] == "unauthorized", events
        assert events[-1]["data"]["reason"] == "account disabled or removed"
        await ended(stream)


async def test_expired_token_ends_the_stream(api, admin_headers, client, settings, unique):
    release_id = await started_release(client, settings, unique, "sse-exp")
    token = create_access_token(
        settings.FIRST_ADMIN_USERNAME, "admin", secret=settings.secret_key(), expires_delta=timedelta(seconds=2)
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with event_stream(f"http://test{API}/releases/{release_id}/events", headers) as stream:
        events = await stream.until(lambda e: e[-1]["event"] == "unauthorized")
    assert events[0]["event"] == "hello"
    assert events[-1]["event"] == "unauthorized" and events[-1]["data"]["reason"] == "token expired"


async def test_stream_ends_when_the_mirrors_stop(api, admin_headers, client, settings, unique):
    release_id = await started_release(client, settings, unique, "sse-stop")
    async with event_stream(f"http://test{API}/releases/{release_id}/events", admin_headers) as stream:
        assert (await stream.until(lambda e: e[-1]["event"] == "hello"))[-1]["event"] == "hello"
        await services.current().mirrors.stop()  # what shutdown does
        events = await stream.until(lambda e: e[-1]["event"] == "end")
        assert events and events[-1]["event"] == "end", events
        await ended(stream)
