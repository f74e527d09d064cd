"""Every page passes axe-core with no critical or serious violation, in the light and the dark theme, in a real
chromium, and stays within the window's width.

The release page is shown for a release of many apps with a node selected and a state filter on, and the release
carries what a deployment system may send that a layout or a screen reader can trip on: ids near their length limit,
many distinct states, right-to-left state names and a state of the longest length allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from nicegui.testing import Screen
from selenium.webdriver.common.by import By

from release_console.core.config import get_settings
from release_console.domain.ids import MAX_ID_PART_LENGTH
from release_console.domain.states import MAX_STATE_LENGTH
from release_console.temporal.client import connect
from release_console.temporal.releases import build_plan, start_release
from release_console.ui.live.list_model import PAGE_SIZE
from tests.helpers import ADMIN_USERNAME, eventually_sync
from tests.integration.ui.browser.axe import axe_violations, blocking, describe
from tests.integration.ui.browser.helpers import _login, _report, _run, _start, _wait_text, page_text

pytestmark = pytest.mark.browser

WAVES, CLUSTERS, APPS = 4, 5, 40
"""A release of 800 apps: many rows and counts, quick enough to start in a test."""
RTL_STATES = ("متوقف-للمراجعة", "ממתין לאישור")
"""Right-to-left state names (Arabic, Hebrew)."""
MANY_STATES = 20
"""Distinct generated states, on top of the canonical ones and the odd ones above (a release allows 32)."""

DARK_TOGGLE = "//header//button[.//i[normalize-space(text())='dark_mode' or normalize-space(text())='light_mode']]"
OVERFLOW = "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
STICKING_OUT = r"""
const width = document.documentElement.clientWidth;
const out = new Set([...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > width + 1));
return [...out].filter(e => ![...e.children].some(c => out.has(c))).slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className.trim()
    ? '.' + e.className.trim().split(/\s+/).join('.') : ''));
"""
PAGE_FACTS = """
const [maxName, appBars] = arguments;
return {
  h1: [...document.querySelectorAll('h1')].map(e => e.textContent.trim()),
  bars: [...document.querySelectorAll('[role=progressbar]')].filter(e => e.checkVisibility())
    .map(e => [e.getAttribute('aria-label'), e.matches(appBars), e.outerHTML.slice(0, 200)]),
  longNames: [...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label'))
    .filter(n => n.length > maxName),
  markup: document.querySelectorAll('b.rc-injected').length,
};
"""
MAX_NAME = 300
"""Longer accessible names (aria-label) are a sign of unbounded text read out."""
APP_BARS = ".rc-bar, .q-linear-progress"
"""The bars of apps done (the others, like Quasar's loading bar, need a name, not this one)."""
BAR_NAME = re.compile(r"\d+ of \d+ apps done")
INJECTED = '<b class="rc-injected">bold</b>'
"""A state that is markup: it must show as text."""


def _long_key(unique: str) -> str:
    """A release key that makes the longest app id of the plan exactly as long as an id part may be."""
    suffix = f"-w{WAVES}-c{CLUSTERS}-a{APPS}"
    return f"a11y-{unique}-".ljust(MAX_ID_PART_LENGTH - len(suffix), "x")


def _odd_states(key: str) -> list[tuple[str, str]]:
    """Transitions giving the release's first cluster failures, right-to-left and maximal-length states, and
    spreading many more distinct states over the second."""
    first, second = f"app:{key}-w1-c1-a", f"app:{key}-w1-c2-a"
    longest = ("waiting-for-an-external-approval-" * 2)[:MAX_STATE_LENGTH]
    odd = [(f"{first}1", "failed"), (f"{first}2", RTL_STATES[0]), (f"{first}3", RTL_STATES[1]), (f"{first}4", longest),
           (f"{first}5", INJECTED)]
    return odd + [(f"{second}{n}", f"step-{n:02d}") for n in range(1, MANY_STATES + 1)]


async def _start_tiny(prefix: str, count: int) -> None:
    """``count`` one-app releases, so the release list has more than one page (its pager is checked too)."""
    settings = get_settings()
    client = await connect(settings)
    for n in range(count):
        await start_release(client, settings, build_plan(f"{prefix}-{n}", 1, 1, 1))


class Audit:
    """The blocking axe-core violations and layout overflows found, by theme and page."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.problems: list[str] = []

    def check(self, theme: str, page: str, path: str | None, ready: Callable[[str], bool]) -> None:
        """Open ``path`` (None: stay), wait until ``ready(page text)``, then run axe-core and measure the width."""
        driver = self.screen.selenium
        if path is not None:
            driver.get(f"{self.screen.url}{path}")
        eventually_sync(lambda: ready(page_text(driver)), timeout=30, what=f"the {page} page")
        is_dark = driver.execute_script("return document.body.classList.contains('body--dark')")
        assert is_dark == (theme == "dark"), f"{page}: expected the {theme} theme"
        found = blocking(axe_violations(driver))
        print(f"{theme:5} {page:13} {len(found)} critical/serious: {', '.join(v['id'] for v in found) or '-'}")
        self.problems += [f"{theme} {page}: {describe(v)}" for v in found]
        for violation in found:  # shown with ``pytest -s``: each element and what to fix
            for target, summary in zip(violation["targets"], violation["summaries"], strict=True):
                print(f"    {violation['id']}: {target}: {summary[:300]}")
        if (overflow := driver.execute_script(OVERFLOW)) > 0:
            sticking_out = ", ".join(driver.execute_script(STICKING_OUT))
            self.problems.append(f"{theme} {page}: the page is {overflow}px wider than the window: {sticking_out}")
        facts = driver.execute_script(PAGE_FACTS, MAX_NAME, APP_BARS)
        if len(facts["h1"]) != 1:
            self.problems.append(f"{theme} {page}: {len(facts['h1'])} h1 headings {facts['h1']}, not one")
        unnamed = [html for name, of_apps, html in facts["bars"]
                   if not (BAR_NAME.fullmatch(name or "") if of_apps else name)]
        if unnamed:
            self.problems.append(f"{theme} {page}: progress bars without a name ('N of M apps done' for apps): "
                                 f"{unnamed[:3]}")
        if facts["longNames"]:
            self.problems.append(f"{theme} {page}: unbounded accessible names: {[n[:60] for n in facts['longNames']]}")
        if facts["markup"]:
            self.problems.append(f"{theme} {page}: a state's text was rendered as markup")


def _toggle_dark(screen: Screen, dark: bool) -> None:
    screen.selenium.find_element(By.XPATH, DARK_TOGGLE).click()
    eventually_sync(
        lambda: screen.selenium.execute_script("return document.body.classList.contains('body--dark')") == dark,
        what=f"dark mode {'on' if dark else 'off'}",
    )


def test_every_page_has_no_serious_accessibility_violation_in_either_theme(screen: Screen, unique: str) -> None:
    key = _long_key(unique)
    _run(_start_tiny(f"a11y-{unique}-page", PAGE_SIZE))  # first: the release below is the newest, on page 1
    release_id = _run(_start(key, WAVES, CLUSTERS, APPS))
    _run(_report(release_id, _odd_states(key)))
    node = f"cluster:{key}-w1-c1"
    release_page = f"/releases/{release_id}?{urlencode({'node': node, 'state': 'failed'})}"
    pages: list[tuple[str, str, Callable[[str], bool]]] = [
        ("release list", "/", lambda text: all(s in text for s in (release_id, INJECTED, *RTL_STATES))),
        ("release list, pages", "/?page=2",
         lambda _text: bool(screen.selenium.find_elements(By.CSS_SELECTOR, ".rc-pager button"))),
        ("release list, empty", f"/?state=nothing-{unique}", lambda text: "No releases match the filters." in text),
        ("release", release_page, lambda text: node in text and f"{key}-w1-c1-a1" in text),
        ("users", "/admin/users", lambda text: ADMIN_USERNAME in text and "Role" in text),
        ("audit log", "/admin/audit", lambda text: "login" in text),
        ("API keys", "/api-keys", lambda text: "API keys" in text),
        ("notifications", "/notifications", lambda text: "Notifications" in text),
    ]
    audit = Audit(screen)
    screen.open("/login")
    audit.check("light", "login", None, lambda text: "Log in to Release Console" in text)
    _login(screen)
    for theme in ("light", "dark"):
        if theme == "dark":
            _toggle_dark(screen, True)
        for page, path, ready in pages:
            audit.check(theme, page, path, ready)
    screen.selenium.find_element(By.XPATH, '//button[.//*[normalize-space(text())="Log out"]]').click()
    _wait_text(screen, "Log in to Release Console")
    audit.check("dark", "login", None, lambda text: "Log in to Release Console" in text)
    assert audit.problems == [], "\n".join(audit.problems)
