"""The freshness chip's tooltip names the state version and the exact time the data was last confirmed.

The chip's text and tooltip ("state version 42 · last confirmed with Temporal at … UTC") are drawn in the browser
(freshness.js) from the freshness data the page holds (the ``Freshness`` element's ``meta``, updated by its live
channel); these tests check that data: the state version and the confirmation time (``asOf``, epoch ms) follow the
mirror's (or the shared list's, which has no version). The drawn texts are checked by the browser tests.
"""

from __future__ import annotations

from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.services import current
from release_console.temporal.releases import report
from tests.helpers import eventually
from tests.integration.ui.helpers import epoch_ms, freshness_meta, login, see, start


async def test_release_page_tooltip_follows_version_and_confirmation(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"fr-{unique}", 1, 1, 2)
    await login(user, f"/releases/{release_id}")
    await see(user, marker="freshness")
    mirror = current().mirrors.peek(release_id)
    assert mirror is not None
    await eventually(lambda: freshness_meta(user)["version"] == 0, what="version 0 in the chip's data")
    await report(client, release_id, [(f"app:fr-{unique}-w1-c1-a1", "deploying")])
    await eventually(lambda: freshness_meta(user)["version"] == 1, what="version 1 in the chip's data")
    await eventually(
        lambda: freshness_meta(user)["asOf"] == epoch_ms(mirror.as_of) and mirror.version == 1,
        what="the exact confirmation time",
    )


async def test_release_list_tooltip_says_when_the_list_was_confirmed(user: User) -> None:
    await login(user, "/")
    await see(user, marker="freshness")
    source = current().release_list
    await eventually(lambda: source.as_of is not None, what="a first list refresh")
    await eventually(lambda: freshness_meta(user)["asOf"] == epoch_ms(source.as_of), what="the list's confirmation")
    assert freshness_meta(user).get("version") is None  # the list has no state version: the tooltip names none
