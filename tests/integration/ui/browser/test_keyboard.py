"""Keyboard and screen-reader use of the release page in a real chromium: keys only (no clicks), the WAI-ARIA tree
pattern of the release tree, the ``/`` shortcut to the header search, the page's polite live region, and the names a
screen reader reads for long ids and right-to-left state names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nicegui.testing import Screen
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from release_console.core.config import get_settings
from release_console.domain.ids import MAX_ID_PART_LENGTH
from release_console.domain.plan import PlanNode
from release_console.domain.states import MAX_DISTINCT_STATES
from release_console.temporal.client import connect
from release_console.temporal.releases import start_release
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually_sync
from tests.integration.ui.browser.helpers import _login, _report, _run, _start, _wait_text

pytestmark = pytest.mark.browser

MAX_TABS = 80
"""Tab presses allowed to reach a control (the page's header and toolbar come first)."""
PAGE = 100
"""Children a tree node shows before its "show more" row (the tree's page size)."""
RTL_STATE = "נכשל בפריסה"
"""A right-to-left state name (Hebrew, "failed in deployment"), with a space: bidi text a row must keep isolated."""


def press(driver: WebDriver, *keys: str) -> None:
    """Key presses sent to whatever has the focus (no element is clicked)."""
    ActionChains(driver).send_keys(*keys).perform()


def focused(driver: WebDriver) -> WebElement:
    return driver.switch_to.active_element


def attribute_of_focus(driver: WebDriver, name: str) -> str | None:
    try:
        return focused(driver).get_attribute(name)
    except StaleElementReferenceException:  # the focused element was just redrawn
        return None


def tab_to(driver: WebDriver, found: Callable[[WebDriver], bool], what: str) -> None:
    """Press Tab until ``found`` says the focus is where it should be."""
    for _ in range(MAX_TABS):
        if found(driver):
            return
        press(driver, Keys.TAB)
    raise AssertionError(f"{what} not reached with {MAX_TABS} Tab presses (focus on {focused(driver).tag_name})")


def focus_on(driver: WebDriver, entity_id: str) -> None:
    """Wait until the focus is on the tree row of ``entity_id``."""
    eventually_sync(lambda: attribute_of_focus(driver, "data-id") == entity_id, what=f"focus on {entity_id}")


def row(driver: WebDriver, entity_id: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'[role="treeitem"][data-id="{entity_id}"]')


def row_attribute(driver: WebDriver, entity_id: str, name: str) -> str | None:
    try:
        return row(driver, entity_id).get_attribute(name)
    except StaleElementReferenceException:
        return None


def tree_ids(driver: WebDriver) -> list[str]:
    return [e.get_attribute("data-id") or "" for e in driver.find_elements(By.CSS_SELECTOR, '[role="treeitem"]')]


def announced(driver: WebDriver, text: str) -> None:
    """Wait until the page's one polite live region says ``text``."""
    def said() -> str:
        regions = driver.find_elements(By.CSS_SELECTOR, '[aria-live="polite"][data-testid="announcer"]')
        assert len(regions) <= 1, "more than one announcer on the page"
        try:
            return regions[0].get_attribute("textContent") or "" if regions else ""
        except StaleElementReferenceException:
            return ""

    eventually_sync(lambda: text in said(), what=f"the live region saying {text!r}")


def test_keyboard_only_journey_to_a_failed_app(screen: Screen, unique: str) -> None:
    """Log in, open a release with ``/``, walk the tree with arrows to the failed app, select it, read its details;
    later failures are announced politely (on the list, then on the release page) while the focus stays put."""
    key = f"kb-{unique}"
    release_id = _run(_start(key, 2, 2, 2))
    failed_app, second, third = f"app:{key}-w2-c1-a2", f"app:{key}-w2-c2-a1", f"app:{key}-w1-c2-a1"
    bundle = f"bundle:{key}-w2-c1"
    _run(_report(release_id, [(failed_app, "failed")]))
    driver = screen.selenium

    screen.open("/")
    screen.wait_for("Log in to Release Console")
    tab_to(driver, lambda d: attribute_of_focus(d, "aria-label") == "Username", "the username field")
    press(driver, ADMIN_USERNAME, Keys.TAB)
    assert attribute_of_focus(driver, "aria-label") == "Password"
    press(driver, ADMIN_PASSWORD, Keys.ENTER)
    _wait_text(screen, release_id)
    _run(_report(release_id, [(second, "failed")]))
    announced(driver, f"{release_id}: 2 apps failed")

    press(driver, "/")  # anywhere but in a text field: the header's search
    eventually_sync(lambda: attribute_of_focus(driver, "id") == "rc-find", what="the search box focused by /")
    press(driver, release_id, Keys.ENTER)
    eventually_sync(lambda: failed_app in tree_ids(driver), what="the release's tree with the failed app")
    assert screen.current_path == f"/releases/{release_id}"

    stops = [e.get_attribute("tabindex") for e in driver.find_elements(By.CSS_SELECTOR, '[role="treeitem"]')]
    assert stops.count("0") == 1 and set(stops) == {"0", "-1"}  # one tab stop (roving tabindex)
    tab_to(driver, lambda d: attribute_of_focus(d, "role") == "treeitem", "the tree")
    focus_on(driver, release_id)
    assert driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle") != "none"

    ids = tree_ids(driver)  # failure first: the failed app's branch is open and comes before the others
    for next_id in ids[1 : ids.index(failed_app) + 1]:
        press(driver, Keys.ARROW_DOWN)
        focus_on(driver, next_id)
    assert row_attribute(driver, failed_app, "aria-selected") == "false"
    assert row_attribute(driver, failed_app, "aria-level") == "5"
    press(driver, Keys.ENTER)
    eventually_sync(lambda: row_attribute(driver, failed_app, "aria-selected") == "true", what="the app selected")
    panel = driver.find_element(By.CSS_SELECTOR, ".rc-panel")
    eventually_sync(lambda: panel.find_element(By.CSS_SELECTOR, '[data-testid="panel-id"]').text == failed_app,
                    what="the details panel showing the app")
    assert panel.find_element(By.CSS_SELECTOR, '[data-testid="panel-state"]').text == "failed"
    assert bundle in panel.text  # its parent
    focus_on(driver, failed_app)  # selecting does not move the focus

    press(driver, Keys.ARROW_LEFT)  # a leaf: to its parent
    focus_on(driver, bundle)
    assert row_attribute(driver, bundle, "aria-expanded") == "true"
    press(driver, Keys.ARROW_LEFT)  # an open node: closed
    eventually_sync(lambda: row_attribute(driver, bundle, "aria-expanded") == "false", what="the bundle closed")
    assert failed_app not in tree_ids(driver)
    focus_on(driver, bundle)
    press(driver, Keys.ARROW_RIGHT)  # a closed node: opened
    eventually_sync(lambda: row_attribute(driver, bundle, "aria-expanded") == "true", what="the bundle open")
    press(driver, Keys.ARROW_RIGHT)  # an open node: to its first child
    focus_on(driver, failed_app)
    press(driver, Keys.END)
    focus_on(driver, tree_ids(driver)[-1])
    press(driver, Keys.HOME)
    focus_on(driver, release_id)

    _run(_report(release_id, [(third, "failed")]))
    announced(driver, "3 apps failed")
    focus_on(driver, release_id)  # the announcement took no focus

    press(driver, Keys.TAB)  # the tree is one tab stop: Tab leaves it
    eventually_sync(lambda: attribute_of_focus(driver, "role") != "treeitem", what="the focus out of the tree")


def bidi_plan(key: str, long_app: str, apps_in_bundle: int) -> PlanNode:
    """One bundle holding an app with the longest id allowed in a right-to-left state, next to apps using every
    other state a release may have (and pending ones up to ``apps_in_bundle``)."""
    other_states = [f"custom-{n:02d}" for n in range(MAX_DISTINCT_STATES - 2)]  # with "pending" and RTL_STATE
    other_states += ["pending"] * (apps_in_bundle - 1 - len(other_states))
    apps = [PlanNode(long_app, state=RTL_STATE)]
    apps += [PlanNode(f"app:{key}-a{n}", state=state) for n, state in enumerate(other_states)]
    bundle = PlanNode(f"bundle:{key}-b", children=apps)
    cluster = PlanNode(f"cluster:{key}-c", children=[bundle])
    return PlanNode(f"release:{key}", children=[PlanNode(f"wave:{key}-w", children=[cluster])])


async def _start_plan(plan: PlanNode) -> None:
    get_settings.cache_clear()
    settings = get_settings()
    await start_release(await connect(settings), settings, plan)


def test_long_ids_rtl_states_and_many_states_keep_the_layout_and_the_names(screen: Screen, unique: str) -> None:
    """A row reads "<id>, <state>" however long the id and whatever the script of the state; the id, the
    right-to-left state and 32 count chips stay inside the tree instead of widening the page. The "show more" row
    of a big bundle is a tree item too: Enter shows the next page and the focus goes to its first row."""
    key = f"bidi-{unique}"
    long_app = f"app:{key}-" + "x" * (MAX_ID_PART_LENGTH - len(key) - 1)
    bundle = f"bundle:{key}-b"
    apps = PAGE + 30
    _run(_start_plan(bidi_plan(key, long_app, apps)))
    _login(screen)
    screen.selenium.get(f"{screen.url}/releases/release:{key}?node={long_app}")
    driver = screen.selenium
    eventually_sync(lambda: long_app in tree_ids(driver), what="the long id's row")

    eventually_sync(lambda: row(driver, long_app).accessible_name == f"{long_app}, {RTL_STATE}",
                    what="the row's accessible name")
    app_row = row(driver, long_app)
    assert app_row.get_attribute("aria-selected") == "true"  # the node of the URL: selected, and the tab stop
    assert app_row.get_attribute("tabindex") == "0"
    assert row(driver, bundle).accessible_name == f"{bundle}, pending"
    badge = app_row.find_element(By.CSS_SELECTOR, ".rc-badge")
    assert badge.tag_name == "bdi" and badge.text == RTL_STATE  # isolated: cannot reorder the row around it
    chips = row(driver, bundle).find_elements(By.CSS_SELECTOR, ".rc-chip")
    assert len(chips) < MAX_DISTINCT_STATES and chips[-1].text.startswith("+")  # the rest: in the panel, a tooltip

    tree = driver.find_element(By.CSS_SELECTOR, '[role="tree"]')
    right = tree.rect["x"] + tree.rect["width"]
    for item in driver.find_elements(By.CSS_SELECTOR, '[role="treeitem"]'):
        assert item.rect["x"] + item.rect["width"] <= right + 1, item.get_attribute("data-id")
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    panel = driver.find_element(By.CSS_SELECTOR, ".rc-panel")
    eventually_sync(lambda: panel.find_element(By.CSS_SELECTOR, '[data-testid="panel-id"]').text == long_app,
                    what="the details panel")
    assert panel.find_element(By.CSS_SELECTOR, '[data-testid="panel-state"]').text == RTL_STATE
    assert panel.rect["x"] + panel.rect["width"] <= driver.execute_script("return window.innerWidth")

    tab_to(driver, lambda d: attribute_of_focus(d, "role") == "treeitem", "the tree")
    focus_on(driver, long_app)  # the selection holds the tree's tab stop
    press(driver, Keys.END)
    more = "Show 30 more (30 of 130 not shown)"
    eventually_sync(lambda: focused(driver).accessible_name == more, what="the focus on the show-more row")
    assert attribute_of_focus(driver, "role") == "treeitem"
    press(driver, Keys.ENTER)
    eventually_sync(lambda: attribute_of_focus(driver, "aria-posinset") == str(PAGE + 1),
                    what="the focus on the first row of the next page")
    assert attribute_of_focus(driver, "aria-setsize") == str(apps)
    assert not driver.find_elements(By.CSS_SELECTOR, ".rc-more")  # every app shown now
