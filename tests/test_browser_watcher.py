"""Issue 10 in a real browser (``screen`` fixture, Debian's chromium): what a release watcher sees."""

from __future__ import annotations

import asyncio

import pytest
from nicegui.testing import Screen
from selenium.webdriver.common.by import By

from release_console.core.config import get_settings
from release_console.temporal.client import connect
from tests.test_browser_journey import _login, _run, _start, _wait_text

pytestmark = pytest.mark.browser


async def _terminate(release_id: str) -> None:
    client = await connect(get_settings())
    await client.get_workflow_handle(release_id).terminate("stopped by an operator")
    await asyncio.sleep(0)


def test_terminated_release_shows_as_terminated_on_the_list(screen: Screen, unique: str) -> None:
    release_id = _run(_start(f"bt-{unique}", 1, 1, 2))
    _run(_terminate(release_id))
    _login(screen)
    screen.open(f"/?q=bt-{unique}&status=closed")
    _wait_text(screen, release_id)
    _wait_text(screen, "terminated", timeout=20)
    row_xpath = f'//a[contains(., "{release_id}")]/ancestor::div[contains(@class, "border-b")][1]'
    row = screen.selenium.find_element(By.XPATH, row_xpath)
    assert "terminated" in row.text
