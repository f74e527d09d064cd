"""The release list with NiceGUI's user fixture against the real Temporal dev server and worker."""

from __future__ import annotations

import sys
from collections import Counter

import pytest
from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.services import current
from release_console.temporal.releases import report
from tests.helpers import after_cycles
from tests.integration.ui.helpers import login, see, start


async def test_list_shows_releases_and_new_ones_appear_live(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    first = await start(client, settings, f"la-{unique}")
    await login(user, "/")
    await see(user, marker=f"open {first}")
    second = await start(client, settings, f"lb-{unique}")
    await see(user, marker=f"open {second}")  # no reload: the list's timer picks it up
    await report(client, second, [(f"release:lb-{unique}", "deploying")])
    await see(user, "deploying")


async def test_filter_by_state_is_kept_in_the_url(user: User, client: Client, settings: Settings, unique: str) -> None:
    running = await start(client, settings, f"lf-{unique}")
    pending = await start(client, settings, f"lg-{unique}")
    await report(client, running, [(running, "deploying")])
    await login(user, "/?state=deploying")
    await see(user, marker=f"open {running}")
    await user.should_not_see(marker=f"open {pending}")
    user.find(marker="summary-all").click()
    await see(user, marker=f"open {pending}")


async def test_search_and_link_to_release(user: User, client: Client, settings: Settings, unique: str) -> None:
    release_id = await start(client, settings, f"ls-{unique}")
    await login(user, f"/?q=ls-{unique}")
    await see(user, marker=f"open {release_id}")
    await see(user, "Temporal")
    user.find(marker=f"open {release_id}").click()
    await see(user, marker="release-title")


async def test_frame_shows_user_role_admin_links_and_logs_out(user: User) -> None:
    await login(user, "/")
    await see(user, "admin", marker="current-user")
    await see(user, "admin", marker="current-role")
    await see(user, "Users")
    await see(user, "Audit log")
    await see(user, "API docs")
    user.find(marker="dark-mode-toggle").click()
    user.find(marker="logout").click()
    await see(user, marker="login-button")


async def test_list_page_sorts_again_only_when_the_list_changes(
    user: User, client: Client, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import release_console.ui.pages.releases as releases_page  # the module main.py registered for this test

    release_id = await start(client, settings, f"lr-{unique}")
    await login(user, "/")
    await see(user, marker=f"open {release_id}")
    source = current().release_list
    changes: list[object] = []
    remove = source.add_listener(changes.append)
    sorts: Counter[int] = Counter()  # per list view: the login flow leaves an earlier list page open too
    sort_items = releases_page.sort_items

    def counting_sort(items: list, sort: str) -> list:
        sorts[id(sys._getframe(1).f_locals.get("self"))] += 1  # the view that asked for the sort
        return sort_items(items, sort)

    monkeypatch.setattr(releases_page, "sort_items", counting_sort)
    try:
        await after_cycles(lambda: source.as_of, 4, what="release list")  # each page's timer ticks ~8 times
    finally:
        remove()
    busiest = max(sorts.values(), default=0)
    print(f"sorts by the busiest list page over 4 refreshes: {busiest}; list changes: {len(changes)}")
    # a change notified just before the window may still be drawn on a page's next tick: hence the + 1
    assert busiest <= len(changes) + 1
