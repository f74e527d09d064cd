"""N viewers never become N readers: the UI reads Temporal through the shared read path, counted in its stats.

Several simulated users (NiceGUI's ``User``, each with its own HTTP client and session cookie, all served by the
one app of the ``user`` fixture) open the same page against the real Temporal dev server and worker. The read
path's counters (``services.current().stats``) must show the same Temporal calls as for one viewer: one load per
release, one poll query per mirror cycle and one visibility listing per list refresh — counted over the same
number of poller cycles, never timed.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from nicegui import core
from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.services import current
from tests.helpers import after_cycles, eventually
from tests.integration.ui.helpers import login, see, see_release, start

VIEWERS = 3
CYCLES = 3  # whole cycles, counted alike alone and crowded: a call per viewer would add VIEWERS - 1 per cycle


def _new_user() -> User:
    """Another simulated browser on the app the ``user`` fixture runs (own cookies, own NiceGUI client)."""
    return User(httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test"))


def _calls(release_id: str, origin: str, kind: str = "") -> int:
    """Temporal calls made for one release by the mirror's ``load`` or ``poll``, optionally of one kind prefix."""
    prefix = f"{origin}:{kind}"
    return sum(n for key, n in current().stats.for_release(release_id).items() if key.startswith(prefix))


async def _poll_queries_over_cycles(release_id: str) -> int:
    """Poll queries of the release's mirror over CYCLES whole poll cycles."""
    mirror = current().mirrors.peek(release_id)
    assert mirror is not None
    await after_cycles(lambda: mirror.as_of, 1, what="mirror")  # start on a cycle boundary
    before = _calls(release_id, "poll", "query:")
    await after_cycles(lambda: mirror.as_of, CYCLES, what="mirror")
    return _calls(release_id, "poll", "query:") - before


async def _list_calls_over_cycles() -> int:
    """Visibility list calls over CYCLES whole refreshes of the shared release list."""
    source = current().release_list
    await after_cycles(lambda: source.as_of, 1, what="release list")
    before = current().stats.calls["list"]
    await after_cycles(lambda: source.as_of, CYCLES, what="release list")
    return current().stats.calls["list"] - before


async def test_release_page_viewers_share_one_load_and_one_poller(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"sh-{unique}"
    alone = await start(client, settings, f"{key}-a", waves=2, clusters=2, apps=3)
    crowded = await start(client, settings, f"{key}-b", waves=2, clusters=2, apps=3)  # same shape, own mirror

    await login(user, f"/releases/{alone}")
    await see(user, marker="release-title")
    load_alone = {k: n for k, n in current().stats.for_release(alone).items() if k.startswith("load:")}
    polls_alone = await _poll_queries_over_cycles(alone)

    viewers = [user, _new_user(), _new_user()]
    for viewer in viewers[1:]:
        await login(viewer, "/")
    await asyncio.gather(*(viewer.open(f"/releases/{crowded}") for viewer in viewers))  # all at once
    for viewer in viewers:
        await see(viewer, marker="release-title")
    polls_crowded = await _poll_queries_over_cycles(crowded)
    load_crowded = {k: n for k, n in current().stats.for_release(crowded).items() if k.startswith("load:")}

    print(f"load calls: 1 viewer {load_alone}, {VIEWERS} viewers {load_crowded}")
    print(f"poll queries over {CYCLES} poll cycles: 1 viewer {polls_alone}, {VIEWERS} viewers {polls_crowded}")
    assert load_alone and load_crowded == load_alone
    assert polls_alone >= CYCLES  # the window did see the poller work
    assert polls_crowded == polls_alone


async def test_release_list_viewers_share_one_visibility_listing(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"shl-{unique}")
    await login(user, "/")
    await see_release(user, release_id)
    lists_alone = await _list_calls_over_cycles()

    others = [_new_user(), _new_user()]
    for viewer in others:
        await login(viewer, "/")
        await see_release(viewer, release_id)
    lists_crowded = await _list_calls_over_cycles()

    print(f"visibility list calls over {CYCLES} refreshes: 1 viewer {lists_alone}, {VIEWERS} viewers {lists_crowded}")
    assert lists_alone >= CYCLES
    assert lists_crowded == lists_alone


async def test_audit_page_reads_the_log_off_the_event_loop(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    import release_console.ui.pages.admin_audit as audit_page  # the module main.py registered for this test

    on_event_loop: list[bool] = []
    read_entries = audit_page.read_entries

    def recording_read(*args, **kwargs):  # the real read, noting which thread runs it
        try:
            asyncio.get_running_loop()
            on_event_loop.append(True)
        except RuntimeError:
            on_event_loop.append(False)
        return read_entries(*args, **kwargs)

    monkeypatch.setattr(audit_page, "read_entries", recording_read)
    await login(user, "/admin/audit")
    await see(user, marker="audit-table")
    await eventually(lambda: on_event_loop, what="the audit log to be read")
    user.find(marker="apply-filter").click()
    await eventually(lambda: len(on_event_loop) >= 2, what="the filtered audit read")
    assert on_event_loop == [False] * len(on_event_loop)
    table = next(iter(user.find(marker="audit-table").elements))
    assert any(str(row["action"]).startswith("login") for row in table.rows)  # the real entries reached the table
