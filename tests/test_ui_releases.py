"""The release list with NiceGUI's user fixture against the real Temporal dev server and worker."""

from __future__ import annotations

from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.temporal.releases import report
from tests.ui_helpers import login, see, start


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
