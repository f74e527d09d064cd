"""Open tabs as a browser holds them: a real console process, real page sockets (benchmarks/emulated_tabs.py: GET the
page with a signed-in cookie, connect socket.io over a websocket), the session's Temporal dev server and worker.

Every tab of a release sees each change; a hidden tab gets nothing until it is shown, then the latest state at once;
a tab that stops reading its socket gets the latest state when it reads again (not every step), the others never
wait for it, and one that never reads again is dropped; a socket that sends what no page sends is closed, and only
that one.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from benchmarks.emulated_tabs import Browser, Tab
from release_console.core.config import Settings
from release_console.temporal.releases import report
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, REPO_ROOT, eventually, free_port, stop_process
from tests.integration.ui.helpers import start

DROP_SECONDS = 4
VIEWERS = 4


@dataclass
class Console:
    """A console process of its own (so its page sockets are real) and its signed-in browsers."""

    url: str
    popen: subprocess.Popen
    log: Path
    browsers: list[Browser]

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(f"release_console_{name} ") or line.startswith(f"release_console_{name}_total "):
                return float(line.split()[-1])
        raise AssertionError(f"no {name} in /metrics")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def console(worker_process: subprocess.Popen, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """``python main.py`` on a free port, with tabs dropped after DROP_SECONDS of unread data."""
    port = free_port()
    data = tmp_path_factory.mktemp("live-console")
    log = data / "console.log"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("NICEGUI_", "PYTEST_"))}  # not a test app
    env = {**inherited, "PORT": str(port), "HOST": "127.0.0.1", "DATA_DIR": str(data / "data"),
           "UI_TAB_DROP_SECONDS": str(DROP_SECONDS), "INSTANCE_NAME": "live-tabs"}
    with log.open("wb") as out:
        popen = subprocess.Popen([sys.executable, str(REPO_ROOT / "main.py")], stdout=out, stderr=subprocess.STDOUT,
                                 env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert popen.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        yield Console(url, popen, log, [])
    finally:
        stop_process(popen)


@pytest.fixture
async def browsers(console: Console) -> AsyncIterator[list[Browser]]:
    """VIEWERS browsers signed in through the login page (as the admin: sessions are per browser)."""
    signed_in = []
    for _ in range(VIEWERS):
        browser = Browser(console.url)
        await browser.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
        signed_in.append(browser)
    yield signed_in
    for browser in signed_in:
        await browser.close()


async def open_tabs(browsers: list[Browser], path: str, count: int, ready: str, **kwargs: object) -> list[Tab]:
    tabs = [Tab(browsers[i % len(browsers)], path, **kwargs) for i in range(count)]  # type: ignore[arg-type]
    await asyncio.gather(*(tab.open(ready_text=ready, timeout=30) for tab in tabs))
    for tab in tabs:
        assert await tab.report_visible()
    return tabs


async def close_all(tabs: list[Tab]) -> None:
    await asyncio.gather(*(tab.close() for tab in tabs))


def done_text(done: int, total: int) -> str:
    return f"{done}/{total} apps done"


async def test_every_tab_of_a_release_sees_each_change(
    console: Console, browsers: list[Browser], client: Client, settings: Settings, unique: str
) -> None:
    key = f"lt-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=2, apps=5)
    tabs = await open_tabs(browsers, f"/releases/{release_id}", 20, done_text(0, 20))
    try:
        for n in range(1, 4):
            for tab in tabs:
                tab.expect(done_text(n, 20))
            await report(client, release_id, [(f"app:{key}-w1-c1-a{n}", "deployed")])
            for tab in tabs:
                await tab.wait_frame(done_text(n, 20), timeout=10)
        assert console.metric("ui_live_tabs") >= 20
    finally:
        await close_all(tabs)


async def test_a_hidden_tab_gets_nothing_until_shown_then_the_latest_state(
    console: Console, browsers: list[Browser], client: Client, settings: Settings, unique: str
) -> None:
    key = f"lh-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=10)
    visible, hidden = await open_tabs(browsers, f"/releases/{release_id}", 2, done_text(0, 10))
    try:
        await hidden.report_visible(False)
        await asyncio.sleep(0.5)
        steps = [done_text(n, 10) for n in range(1, 4)]
        for text in steps:
            visible.expect(text)
            hidden.expect(text)
        for n in range(1, 4):
            await report(client, release_id, [(f"app:{key}-w1-c1-a{n}", "deployed")])
            await visible.wait_frame(steps[n - 1], timeout=10)
        await asyncio.sleep(1)
        assert all(hidden.seen_at(text) is None for text in steps), "a hidden tab was sent changes"
        shown = time.perf_counter()
        await hidden.report_visible(True)
        await hidden.wait_frame(steps[-1], timeout=5)
        assert hidden.seen_at(steps[-1]) - shown < 2  # type: ignore[operator]
        assert hidden.seen_at(steps[0]) is None and hidden.seen_at(steps[1]) is None  # the latest, not each step
    finally:
        await close_all([visible, hidden])


async def test_a_slow_tab_gets_the_latest_state_and_never_holds_up_the_others(
    console: Console, browsers: list[Browser], client: Client, settings: Settings, unique: str
) -> None:
    key = f"ls-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=400)
    await report(client, release_id, [(f"app:{key}-w1-c1-a1", "failed")])  # every tab opens the failing bundle
    ready = done_text(1, 400)
    fast = await open_tabs(browsers, f"/releases/{release_id}", 3, ready)
    [slow] = await open_tabs(browsers, f"/releases/{release_id}", 1, ready, receive_buffer=2048)
    try:
        slow.pause_reading()
        shown_apps = [f"app:{key}-w1-c1-a{i}" for i in range(2, 101)]  # the bundle's first page, open in every tab
        steps = [f'"step-{n}"' for n in range(1, 13)]
        for n, step in enumerate(steps, start=1):  # each change moves 99 shown apps: ~20 KB a message
            for tab in [*fast, slow]:
                tab.expect(step)
            await report(client, release_id, [(app, f"step-{n}") for app in shown_apps])
        final = done_text(100, 400)
        for tab in [*fast, slow]:
            tab.expect(final)
        await report(client, release_id, [(app, "deployed") for app in shown_apps])
        for tab in fast:
            await tab.wait_frame(final, timeout=10)  # the others did not wait for the slow tab
        await eventually(lambda: console.metric("ui_live_left_behind") > 0, timeout=10, what="the slow tab left behind")
        slow.resume_reading()
        await slow.wait_frame(final, timeout=10)
        assert not slow.closed_by_server
        skipped = [step for step in steps if slow.seen_at(step) is None]
        assert skipped, "the slow tab was sent every step instead of the latest state"
    finally:
        await close_all([*fast, slow])


async def test_a_tab_that_never_reads_again_is_dropped_and_counted(
    console: Console, browsers: list[Browser], client: Client, settings: Settings, unique: str
) -> None:
    key = f"ld-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=400)
    await report(client, release_id, [(f"app:{key}-w1-c1-a1", "failed")])
    [stuck] = await open_tabs(browsers, f"/releases/{release_id}", 1, done_text(1, 400), receive_buffer=2048)
    [other] = await open_tabs(browsers, f"/releases/{release_id}", 1, done_text(1, 400))
    dropped_before = console.metric("ui_tabs_dropped")
    try:
        stuck.pause_reading()
        shown_apps = [f"app:{key}-w1-c1-a{i}" for i in range(2, 101)]
        for n in range(1, 13):
            await report(client, release_id, [(app, f"step-{n}") for app in shown_apps])
        await eventually(lambda: console.metric("ui_tabs_dropped") > dropped_before, timeout=DROP_SECONDS + 15,
                         what="the stuck tab to be dropped")
        assert "dropped a page connection from" in console.log_text()
        other.expect(done_text(2, 400))
        await report(client, release_id, [(f"app:{key}-w1-c1-a400", "deployed")])
        await other.wait_frame(done_text(2, 400), timeout=10)  # the others go on
    finally:
        await close_all([stuck, other])


async def test_a_socket_sending_what_no_page_sends_is_closed_alone(
    console: Console, browsers: list[Browser], client: Client, settings: Settings, unique: str
) -> None:
    key = f"lf-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=4)
    path = f"/releases/{release_id}"
    forgers = await open_tabs(browsers, path, 3, done_text(0, 4))
    [honest] = await open_tabs(browsers, path, 1, done_text(0, 4))
    refused_before = console.metric("ui_socket_messages_refused")
    forged = [
        ["event", {"id": 10**9, "client_id": forgers[0].query["client_id"], "listener_id": "x" * 36, "args": []}],
        ["event", {"id": 0, "client_id": honest.query["client_id"], "listener_id": "y" * 36, "args": []}],
        ["no-such-event", {"anything": 1}],
    ]
    try:
        for tab, message in zip(forgers, forged, strict=True):
            assert tab.ws is not None
            await tab.ws.send("42" + json.dumps(message))
        for tab in forgers:
            await eventually(lambda t=tab: t.reader is not None and t.reader.done(), timeout=10,
                             what="the forging socket to be closed")
        assert console.metric("ui_socket_messages_refused") >= refused_before + 3
        honest.expect(done_text(1, 4))
        await report(client, release_id, [(f"app:{key}-w1-c1-a1", "deployed")])
        await honest.wait_frame(done_text(1, 4), timeout=10)
        assert not honest.closed_by_server
    finally:
        await close_all([*forgers, honest])


async def test_every_tab_of_the_release_list_sees_a_change(
    console: Console, browsers: list[Browser], client: Client, settings: Settings, unique: str
) -> None:
    key = f"ll-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=2)
    tabs = await open_tabs(browsers, f"/?q={key}", 10, release_id)
    state = f"canary-{unique}"  # a state no other release has: only this release's row carries it
    try:
        for tab in tabs:
            tab.expect(f'"{state}"')
        await report(client, release_id, [(f"app:{key}-w1-c1-a1", state)])
        for tab in tabs:  # the list learns of it from visibility (refreshed every RELEASE_LIST_REFRESH_SECONDS)
            await tab.wait_frame(f'"{state}"', timeout=15)
    finally:
        await close_all(tabs)
