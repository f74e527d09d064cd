"""A release tab's failure signals in a real browser (``screen`` fixture, Debian's chromium): the tab title carries
"(N failed)" from the counts the page receives live, and a watched release's new failures become browser
notifications (the permission asked when Watch is switched on)."""

from __future__ import annotations

import pytest
from nicegui.testing import Screen
from selenium.webdriver.common.by import By

from release_console import services
from release_console.accounts.models import Principal
from tests.helpers import ADMIN_USERNAME, eventually_sync
from tests.integration.ui.browser.helpers import _login, _report, _run, _start, _wait_text

pytestmark = pytest.mark.browser

RECORDING_NOTIFICATION = """
window.__rcTold = [];
window.__rcAsked = 0;
window.Notification = class {
  static permission = "default";
  static requestPermission() {
    window.__rcAsked += 1;
    this.permission = "granted";
    return Promise.resolve("granted");
  }
  constructor(title, options) {
    window.__rcTold.push([title, options && options.tag]);
  }
};
"""
"""The browser's Notification API, recording what the page asks of it (a headless browser shows nothing)."""


def _admin() -> Principal:
    accounts = services.current().accounts
    assert accounts is not None
    principal = accounts.principal(ADMIN_USERNAME)
    assert principal is not None
    return principal


def test_the_tab_title_counts_failed_apps_and_a_watched_release_notifies(screen: Screen, unique: str) -> None:
    key = f"bn-{unique}"
    release_id = _run(_start(key, 1, 1, 3))
    _login(screen)
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, f"wave:{key}-w1")
    title = f"{release_id} · Release Console"
    eventually_sync(lambda: screen.selenium.title == title, what="the plain title")

    _run(_report(release_id, [(f"app:{key}-w1-c1-a1", "failed")]))  # not watched yet: the title only
    eventually_sync(lambda: screen.selenium.title == f"(1 failed) {title}", what="the title to count 1 failure")

    screen.selenium.execute_script(RECORDING_NOTIFICATION)
    notifications = services.current().notifications
    assert notifications is not None and notifications.watching(_admin(), release_id) is None
    screen.selenium.find_element(By.CSS_SELECTOR, '[role="switch"]').click()  # Watch on
    eventually_sync(lambda: notifications.watching(_admin(), release_id) is not None, what="the subscription")
    assert screen.selenium.execute_script("return window.__rcAsked") == 1  # asked in the click itself
    assert screen.selenium.execute_script("return window.__rcTold") == []  # the failure before was not told

    _run(_report(release_id, [(f"app:{key}-w1-c1-a2", "failed"), (f"app:{key}-w1-c1-a3", "failed")]))
    eventually_sync(lambda: screen.selenium.title == f"(3 failed) {title}", what="the title to count 3 failures")
    told = eventually_sync(lambda: screen.selenium.execute_script("return window.__rcTold"), what="a notification")
    assert told[-1] == [f"3 failed · {release_id}", f"rc-failed|{release_id}"]

    screen.selenium.find_element(By.CSS_SELECTOR, '[role="switch"]').click()  # Watch off
    eventually_sync(lambda: notifications.watching(_admin(), release_id) is None, what="the subscription deleted")
    _run(_report(release_id, [(f"app:{key}-w1-c1-a1", "deployed")]))
    eventually_sync(lambda: screen.selenium.title == f"(2 failed) {title}", what="the title to follow a recovery")
