"""Helpers shared by several test modules."""

from __future__ import annotations

import asyncio

from nicegui.testing import Screen
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from release_console.core.config import get_settings
from release_console.temporal.client import connect
from release_console.temporal.releases import build_plan, report, start_release
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually_sync


def _run(coro):
    return asyncio.run(coro)


async def _start(key: str, waves: int, clusters: int, apps: int) -> str:
    get_settings.cache_clear()
    settings = get_settings()
    plan = build_plan(key, waves, clusters, apps)
    await start_release(await connect(settings), settings, plan)
    return plan.id


async def _report(release_id: str, transitions: list[tuple[str, str]]) -> None:
    await report(await connect(get_settings()), release_id, transitions)


def _login(screen: Screen) -> None:
    screen.open("/")
    screen.wait_for("Log in to Release Console")
    inputs = screen.find_all_by_tag("input")
    inputs[0].send_keys(ADMIN_USERNAME)
    inputs[1].send_keys(ADMIN_PASSWORD)
    screen.selenium.find_element(By.XPATH, '//button[.//*[normalize-space(text())="Log in"]]').click()
    _wait_text(screen, "Last change")


def page_text(driver: WebDriver) -> str:
    """The page's text; empty while the page is being replaced (a navigation or a reload)."""
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def _wait_text(screen: Screen, text: str, timeout: float = 15) -> None:
    eventually_sync(lambda: text in page_text(screen.selenium), timeout=timeout, what=f"{text!r} on the page")
