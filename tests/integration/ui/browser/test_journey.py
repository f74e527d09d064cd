"""Real-browser tests (NiceGUI ``screen`` fixture, Debian's chromium) against the real Temporal dev server."""

from __future__ import annotations

import time

import pytest
from nicegui.testing import Screen
from selenium.webdriver.common.by import By

from tests.integration.ui.browser.helpers import _login, _report, _run, _start, _wait_text

pytestmark = pytest.mark.browser













def test_journey_login_list_release_live_change_logout(screen: Screen, unique: str) -> None:
    key = f"br-{unique}"
    release_id = _run(_start(key, 2, 2, 3))
    _login(screen)
    _wait_text(screen, release_id)
    screen.click(release_id)
    _wait_text(screen, f"wave:{key}-w1")
    assert screen.current_path == f"/releases/{release_id}"
    _run(_report(release_id, [(f"wave:{key}-w1", "rolling_back")]))
    _wait_text(screen, "rolling_back")  # arrives through the mirror and the release's live channel, no reload
    screen.selenium.find_element(By.XPATH, '//button[.//*[normalize-space(text())="Log out"]]').click()
    screen.wait_for("Log in to Release Console")


def test_ten_thousand_app_release_opens_failure_first(screen: Screen, unique: str) -> None:
    """A 10,000-app release opens failure-first in a real chromium, holding only what is shown.

    The seconds are printed (``pytest -s``) for a reader to hold against SC-003 (the hierarchy within 3 s), never
    asserted: timings on a shared test machine vary with its load.

    What is measured: the time from navigating to ``/releases/<id>`` until the release's failed app — opened
    failure-first, five levels deep — is visible in a real chromium. Two opens are timed:

    - cold (first viewer): the console has no mirror yet, so the open includes loading the whole tree from
      Temporal (describe + paged snapshot queries). It depends on the dev server and the 2 shared CPU cores of
      the test machine, not on the UI; the spec sets no bound for it.
    - warm (a second open while the release is watched): the mirror is shared, the page renders from memory.
      This is what a user waits for when opening a release the console already follows, and it is the open the
      spec's SC-003 holds to 3 s.
    """
    key = f"big-{unique}"
    release_id = _run(_start(key, 10, 10, 100))  # 10 waves x 10 clusters x 1 bundle x 100 apps = 10,000 apps
    _run(_report(release_id, [(f"app:{key}-w3-c4-a57", "failed")]))
    _login(screen)
    timings: dict[str, float] = {}
    for attempt in ("cold", "warm"):
        started = time.monotonic()
        screen.selenium.get(f"{screen.url}/releases/{release_id}")
        _wait_text(screen, f"app:{key}-w3-c4-a57", timeout=60)  # the failed app, opened failure-first
        timings[attempt] = time.monotonic() - started
        print(f"10,000-app release page, {attempt} open: {timings[attempt]:.2f} s until the failing app is on screen")
    rendered = len(screen.selenium.find_elements(By.CSS_SELECTOR, ".rc-badge"))
    print(f"badges in the DOM: {rendered} (the browser never holds the whole 10,000-app tree)")
    assert rendered < 1000
