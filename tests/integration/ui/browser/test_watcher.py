"""What a release watcher sees, in a real browser (``screen`` fixture, Debian's chromium)."""

from __future__ import annotations

import asyncio
import time

import pytest
from nicegui.testing import Screen
from selenium.webdriver.common.by import By

from release_console.core.config import get_settings
from release_console.temporal.client import connect
from tests.helpers import eventually_sync
from tests.integration.ui.browser.helpers import _login, _report, _run, _start, _wait_text
from tests.integration.ui.helpers import session_checks

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
    row = screen.selenium.find_element(By.CSS_SELECTOR, f'.rc-list-row[data-id="{release_id}"]')
    assert "terminated" in row.text


def _accounts():
    from release_console import services

    accounts = services.current().accounts
    assert accounts is not None
    return accounts


def _page_visible_flags() -> list[bool]:
    from nicegui import Client

    return [bool(c.storage.get("page_visible")) for c in list(Client.instances.values()) if "page_visible" in c.storage]


def test_a_visible_release_page_stays_signed_in_past_the_idle_timeout_a_hidden_one_is_signed_out(
    screen: Screen, unique: str
) -> None:
    release_id = _run(_start(f"bk-{unique}", 1, 1, 2))
    _login(screen)
    accounts = _accounts()
    accounts.settings = accounts.settings.model_copy(
        update={"ACCOUNTS_REFRESH_SECONDS": 0.2, "SESSION_IDLE_SECONDS": 100, "SESSION_MAX_AGE_SECONDS": 100_000}
    )
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, "wave:")
    eventually_sync(lambda: True in _page_visible_flags(), what="the visible tab to report itself")
    began = time.time()
    for step in range(1, 5):  # 4 × 90 s: past three idle timeouts, the tab on screen all along
        accounts.clock = lambda step=step: began + step * 90
        checked = session_checks()
        eventually_sync(lambda checked=checked: session_checks() >= checked + 2, what="two ticks of the visible tab")
    assert "/releases/" in screen.selenium.current_url
    _wait_text(screen, "wave:")

    watcher = screen.selenium.current_window_handle
    screen.selenium.switch_to.new_window("tab")  # another tab in front: the release page is hidden
    eventually_sync(lambda: True not in _page_visible_flags(), what="the release tab to report itself hidden")
    hidden_at = accounts.clock()
    accounts.clock = lambda: hidden_at + 131
    time.sleep(1.5)  # the hidden tab's tick ends the session (and stops ticking): nothing to count up to
    screen.selenium.close()  # the tab in front goes: the next test's page is the visible one again
    screen.selenium.switch_to.window(watcher)
    _wait_text(screen, "Log in to Release Console")


def _chart_ids(release_id: str) -> list[int]:
    """The chart elements of ``release_id``'s open pages (not those of pages a previous test left behind)."""
    from nicegui import Client

    from release_console.ui.components.timeline_chart import TimelineChart

    return [
        e.id
        for c in list(Client.instances.values())
        for e in list(c.elements.values())
        if isinstance(e, TimelineChart) and e.props.get("ch") == f"release|{release_id}"
    ]


def _drawn_points(screen: Screen, chart_id: int) -> int:
    """Points of the first series as drawn by ECharts in the browser (read through NiceGUI's getElement: the
    component keeps its ECharts instance as ``chart``)."""
    script = f"const c = getElement({chart_id}); return c && c.chart ? c.chart.getOption().series[0].data.length : -1;"
    return int(screen.selenium.execute_script(script))


def _server_points(chart_id: int) -> str:
    """What the server holds for the chart (for the failure message)."""
    from nicegui import Client

    for client in list(Client.instances.values()):
        if chart_id in client.elements:
            return repr(client.elements[chart_id].shared("timeline"))
    return "no such element"


def test_release_page_chart_draws_and_grows_after_a_change(screen: Screen, unique: str) -> None:
    release_id = _run(_start(f"bc-{unique}", 1, 1, 2))
    app = f"app:bc-{unique}-w1-c1-a1"
    _run(_report(release_id, [(app, "deploying")]))
    _login(screen)
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, "Progress over time")
    eventually_sync(lambda: len(_chart_ids(release_id)) == 1, what="the chart element")
    [chart_id] = _chart_ids(release_id)
    try:
        eventually_sync(lambda: _drawn_points(screen, chart_id) == 2, what="two points drawn in the browser")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; drawn: {_drawn_points(screen, chart_id)}; "
                             f"the server holds: {_server_points(chart_id)}") from None
    canvas = screen.selenium.find_element(By.CSS_SELECTOR, f"#c{chart_id} canvas")
    assert canvas.size["width"] > 100 and canvas.size["height"] > 50
    _run(_report(release_id, [(app, "deployed")]))
    eventually_sync(lambda: _drawn_points(screen, chart_id) == 3, what="the chart to grow after a change", timeout=20)


def test_export_button_downloads_the_release_as_csv(screen: Screen, unique: str) -> None:
    from nicegui.testing import screen_plugin

    release_id = _run(_start(f"be-{unique}", 1, 1, 2))
    _login(screen)
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, "Progress over time")
    target = screen_plugin.DOWNLOAD_DIR / f"{release_id.replace(':', '-')}.csv"
    target.unlink(missing_ok=True)
    screen.selenium.find_element(By.XPATH, '//button[.//*[normalize-space(text())="CSV"]]').click()
    eventually_sync(
        lambda: target.exists() and target.read_text().count("\n") >= 6, what="the CSV file to be downloaded"
    )
    text = target.read_text()
    assert text.splitlines()[0].startswith("id,") and release_id in text


def test_freshness_chip_tooltip_names_version_and_confirmation_time(screen: Screen, unique: str) -> None:
    release_id = _run(_start(f"bf-{unique}", 1, 1, 2))
    _run(_report(release_id, [(f"app:bf-{unique}-w1-c1-a1", "deploying")]))
    _login(screen)
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, "Progress over time")

    def title() -> str:
        chips = screen.selenium.find_elements(By.CSS_SELECTOR, ".rc-freshness[title*='state version']")
        return chips[0].get_attribute("title") if chips else ""

    eventually_sync(
        lambda: title().startswith("state version 1 · last confirmed with Temporal at "), what="the tooltip"
    )
    assert title().endswith(" UTC")


def test_a_count_chip_click_filters_and_the_url_follows(screen: Screen, unique: str) -> None:
    key = f"bp-{unique}"
    release_id = _run(_start(key, 2, 1, 2))
    _run(_report(release_id, [(f"app:{key}-w2-c1-a2", "failed")]))
    _login(screen)
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, f"wave:{key}-w1")
    chip = 'contains(concat(" ", @class, " "), " rc-chip ")'  # one chip, not the row's chip box (rc-chips)
    chip_xpath = f'//*[@data-id="wave:{key}-w2"]//*[{chip}][contains(., "failed")]'
    eventually_sync(lambda: bool(screen.selenium.find_elements(By.XPATH, chip_xpath)), what="the wave's failed chip")
    chip = screen.selenium.find_element(By.XPATH, chip_xpath)
    chip.click()
    eventually_sync(lambda: "state=failed" in screen.selenium.current_url, what="the URL to follow the chip")
    assert "node=wave" in screen.selenium.current_url
    _wait_text(screen, f"app:{key}-w2-c1-a2")
    eventually_sync(
        lambda: f"wave:{key}-w1" not in screen.selenium.find_element(By.TAG_NAME, "body").text,
        what="wave 1 filtered out",
    )


def test_details_panel_shows_recent_transitions(screen: Screen, unique: str) -> None:
    key = f"bh-{unique}"
    release_id = _run(_start(key, 1, 1, 2))
    app = f"app:{key}-w1-c1-a1"
    _login(screen)
    screen.open(f"/releases/{release_id}?node={app}")
    _wait_text(screen, "Recent transitions")
    _run(_report(release_id, [(app, "deploying")]))
    _wait_text(screen, "v1")
    _wait_text(screen, "Every transition since the release started is shown.")


def test_search_box_jumps_to_an_entity(screen: Screen, unique: str) -> None:
    from selenium.webdriver.common.keys import Keys

    key = f"bs-{unique}"
    _run(_start(key, 1, 1, 2))
    app = f"app:{key}-w1-c1-a2"
    _login(screen)
    box = screen.selenium.find_element(By.CSS_SELECTOR, "header input")
    box.send_keys(app, Keys.ENTER)
    eventually_sync(lambda: "/releases/release:" in screen.selenium.current_url, what="the jump to the release page")
    assert "node=app" in screen.selenium.current_url
    _wait_text(screen, "Recent transitions")


def _live_subscribers(release_id: str) -> list[tuple[int, bool]]:
    """(last message sent, visible) of each tab on the release's live channel."""
    from release_console.ui.live.hub import hub

    model = hub().releases.get(release_id)
    return [] if model is None else [(s.delivered, s.visible) for s in model.channel.subscribers.values()]


def test_a_hidden_release_tab_is_sent_nothing_and_shows_the_latest_state_when_shown(
    screen: Screen, unique: str
) -> None:
    key = f"bv-{unique}"
    release_id = _run(_start(key, 1, 1, 3))
    _login(screen)
    screen.open(f"/releases/{release_id}")
    _wait_text(screen, "0/3 apps done")
    eventually_sync(lambda: _live_subscribers(release_id) and _live_subscribers(release_id)[0][1],
                    what="the tab on the release's channel, visible")
    watcher = screen.selenium.current_window_handle
    screen.selenium.switch_to.new_window("tab")  # another tab in front: the release page is hidden
    eventually_sync(lambda: not _live_subscribers(release_id)[0][1], what="the release tab reported hidden")
    [(sent_before, _)] = _live_subscribers(release_id)
    for n in range(1, 4):
        _run(_report(release_id, [(f"app:{key}-w1-c1-a{n}", "deployed")]))
    time.sleep(1.5)  # three polls' worth: the changes were published meanwhile
    assert _live_subscribers(release_id) == [(sent_before, False)]  # nothing was sent to the hidden tab
    screen.selenium.close()  # the tab in front goes: the release tab is shown again
    screen.selenium.switch_to.window(watcher)
    _wait_text(screen, "3/3 apps done", timeout=5)  # caught up at once, in one message
