"""Sessions for watchers. Interaction and a visible tab are activity; a hidden tab is not; a notice
with "stay signed in" before the end. Short settings and the accounts service's injectable clock."""

from __future__ import annotations

import asyncio
import time

import pytest
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from temporalio.client import Client

from release_console import services as services_module
from release_console.core.config import Settings
from release_console.ui.session_keepalive import ACTIVITY_EVENT, VISIBILITY_EVENT
from tests.integration.ui.helpers import fast_session_checks, login, see, start

TICK = 0.2


def accounts():
    service = services_module.current().accounts
    assert service is not None
    return service


async def short_settings(**extra) -> Settings:
    """A fast refresh tick and the given session settings, for this test's console only."""
    await fast_session_checks(TICK)
    accounts().settings = accounts().settings.model_copy(update=extra)
    return accounts().settings


def browser_event(user: User, event: str, args=None) -> None:
    """What the page's one-line hook sends: a NiceGUI global event on the page."""
    assert user.client is not None
    UserInteraction(user, {user.client.layout}, None).trigger(event, args)


async def ticks(n: int = 3) -> None:
    await asyncio.sleep(TICK * n + 0.1)


async def signed_in(user: User) -> bool:
    return (await user.http_client.get("/", follow_redirects=False)).status_code == 200




async def test_a_visible_watcher_stays_signed_in_past_the_idle_timeout_a_hidden_one_does_not(
    user: User, client: Client, unique: str
) -> None:
    settings = await short_settings(SESSION_IDLE_SECONDS=100, SESSION_MAX_AGE_SECONDS=10_000)
    release_id = await start(client, services_module.current().settings, f"ka-{unique}", 1, 1, 2)
    await login(user, f"/releases/{release_id}")
    await see(user, marker="release-title")
    began = time.time()
    browser_event(user, VISIBILITY_EVENT, "visible")
    for step in range(1, 5):  # 4 × 90 s = 3.6 idle timeouts, the tab visible all along
        accounts().clock = lambda step=step: began + step * 90
        await ticks()
        await see(user, marker="release-title")
    assert await signed_in(user)
    assert accounts().clock() - began > 3 * settings.SESSION_IDLE_SECONDS

    browser_event(user, VISIBILITY_EVENT, "hidden")  # another tab in front: the open page no longer counts
    hidden_at = accounts().clock()
    accounts().clock = lambda: hidden_at + 60
    await ticks()
    await see(user, marker="release-title")
    accounts().clock = lambda: hidden_at + settings.SESSION_IDLE_SECONDS + 31
    await see(user, marker="login-button")
    assert not await signed_in(user)


async def test_a_visible_tab_never_outlives_the_maximum_age(user: User) -> None:
    settings = await short_settings(SESSION_IDLE_SECONDS=100, SESSION_MAX_AGE_SECONDS=300)
    await login(user, "/")
    await see(user, marker="release-rows")
    began = time.time()
    browser_event(user, VISIBILITY_EVENT, "visible")
    accounts().clock = lambda: began + 90
    await ticks()
    accounts().clock = lambda: began + 180
    await ticks()
    accounts().clock = lambda: began + settings.SESSION_MAX_AGE_SECONDS - 60  # the notice: maximum length
    await see(user, "maximum length", marker="session-notice-text")
    await user.should_not_see(marker="stay-signed-in")  # activity cannot extend the maximum age
    accounts().clock = lambda: began + settings.SESSION_MAX_AGE_SECONDS + 2
    await see(user, marker="login-button")


async def test_interaction_is_activity_and_the_notice_offers_to_stay_signed_in(user: User) -> None:
    settings = await short_settings(SESSION_IDLE_SECONDS=300, SESSION_MAX_AGE_SECONDS=10_000)
    await login(user, "/")
    await see(user, marker="release-rows")
    began = time.time()
    browser_event(user, VISIBILITY_EVENT, "hidden")
    accounts().clock = lambda: began + 200
    browser_event(user, ACTIVITY_EVENT)  # a click somewhere on the page (filters, expands …)
    accounts().clock = lambda: began + 200 + settings.SESSION_IDLE_SECONDS - 60  # idle: 60 s left
    await see(user, "without activity", marker="session-notice-text")
    user.find(marker="stay-signed-in").click()
    stayed_at = accounts().clock()
    await user.should_not_see(marker="session-notice", retries=50)
    accounts().clock = lambda: stayed_at + settings.SESSION_IDLE_SECONDS - 5
    await ticks()
    await see(user, marker="release-rows")
    accounts().clock = lambda: stayed_at + settings.SESSION_IDLE_SECONDS + 5
    await see(user, marker="login-button")


@pytest.mark.parametrize("args", ["visible", ["visible"]])
async def test_visibility_event_shapes(user: User, args) -> None:
    await short_settings()
    await login(user, "/")
    await see(user, marker="release-rows")
    browser_event(user, VISIBILITY_EVENT, args)
    assert user.client is not None and user.client.storage.get("page_visible") is True
