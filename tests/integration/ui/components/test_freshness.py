"""Issue 10, item 7: the freshness chip's tooltip names the state version and the exact time last confirmed."""

from __future__ import annotations

from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.services import current
from release_console.temporal.releases import report
from release_console.ui.components.freshness import freshness_tooltip
from tests.helpers import eventually
from tests.integration.ui.helpers import login, see, start


def _title(user: User) -> str:
    chip = next(iter(user.find(marker="freshness").elements))
    return str(chip.props.get("title"))


async def test_release_page_tooltip_follows_version_and_confirmation(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"fr-{unique}", 1, 1, 2)
    await login(user, f"/releases/{release_id}")
    await see(user, marker="freshness")
    mirror = current().mirrors.peek(release_id)
    assert mirror is not None
    await eventually(lambda: _title(user).startswith("state version 0 · "), what="version 0 in the tooltip")
    await report(client, release_id, [(f"app:fr-{unique}-w1-c1-a1", "deploying")])
    await eventually(lambda: _title(user).startswith("state version 1 · "), what="version 1 in the tooltip")
    await eventually(lambda: _title(user) == freshness_tooltip(1, mirror.as_of), what="the exact confirmation time")


async def test_release_list_tooltip_says_when_the_list_was_confirmed(user: User) -> None:
    await login(user, "/")
    await see(user, marker="freshness")
    source = current().release_list
    await eventually(lambda: source.as_of is not None, what="a first list refresh")
    await eventually(lambda: _title(user) == freshness_tooltip(None, source.as_of), what="the list's tooltip")
