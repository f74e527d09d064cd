"""The release page's view (NiceGUI user fixture, real Temporal dev server and worker): selection, filter and search
kept in the URL, expand/collapse all, wave progress bars, the stale-data warning.

The tree, the header and the freshness chip are drawn in the browser (from the rows the page chose, the entities'
shared views and the release's freshness data); these tests check that data and send the events the browser sends.
The drawn bars, colours and texts are checked by the browser tests (tests/integration/ui/browser)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.services import current
from release_console.temporal.releases import report
from release_console.ui.components.freshness import stale_after
from tests.helpers import eventually
from tests.integration.ui.helpers import (
    epoch_ms,
    freshness_meta,
    login,
    no_node,
    node_view,
    progress_text,
    see,
    see_node,
    see_panel,
    select_labelled,
    set_value,
    start,
    tree_event,
    url_becomes,
    watch_urls,
)


def wave_progress(user: User, wave_id: str) -> list[int]:
    """A wave row's progress as the page draws it: ``[apps done, apps total, apps failed]`` (the browser draws the
    "done/total" label and a bar that is green, or red once an app failed)."""
    return list(node_view(user, wave_id)["p"])


def is_stale(meta: dict) -> bool:
    """What the freshness chip makes of its data: stale when the last confirmation is older than ``staleAfter``
    seconds (freshness.js)."""
    return meta["asOf"] is None or time.time() * 1000 - meta["asOf"] > meta["staleAfter"] * 1000


def all_ids(key: str, waves: int, clusters: int, apps: int) -> dict[str, list[str]]:
    """Entity ids of ``build_plan(key, ...)`` by level."""
    tags = [f"{key}-w{w}-c{c}" for w in range(1, waves + 1) for c in range(1, clusters + 1)]
    return {
        "waves": [f"wave:{key}-w{w}" for w in range(1, waves + 1)],
        "clusters": [f"cluster:{t}" for t in tags],
        "bundles": [f"bundle:{t}" for t in tags],
        "apps": [f"app:{t}-a{a}" for t in tags for a in range(1, apps + 1)],
    }


# ---- release page ---------------------------------------------------------------------------------------------
async def test_release_page_writes_selection_filter_and_search_into_the_url(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"cu-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=2, apps=2)
    failing = f"app:{key}-w2-c1-a1"
    await report(client, release_id, [(failing, "failed")])
    await login(user, f"/releases/{release_id}")
    await see_node(user, failing)  # the failing branch opens on its own
    path = f"/releases/{release_id}"
    urls = watch_urls(user)

    tree_event(user, "select", failing)
    await see_panel(user, failing)
    await url_becomes(urls, path, {"node": failing})

    set_value(user, select_labelled(user, "Filter by state"), "failed")
    await url_becomes(urls, path, {"node": failing, "state": "failed"})
    no_node(user, f"wave:{key}-w1")  # the filter is applied, not only written

    user.find(marker="search").type(f"{key}-w2-c1")
    await see(user, "4 matches")  # cluster, bundle and two apps
    await url_becomes(urls, path, {"node": failing, "state": "failed", "q": f"{key}-w2-c1"})
    link = urls[-1]

    # values taken back out of the view leave the URL too
    user.find(marker="search").clear()
    await url_becomes(urls, path, {"node": failing, "state": "failed"})
    set_value(user, select_labelled(user, "Filter by state"), None)
    await url_becomes(urls, path, {"node": failing})
    await see_node(user, f"wave:{key}-w1")

    # the written link opens the same view
    await user.open(link)
    await see_panel(user, failing)
    await see(user, "4 matches")
    assert select_labelled(user, "Filter by state").value == "failed"
    assert user.find(marker="search").elements.pop().value == f"{key}-w2-c1"
    await see_node(user, failing)
    no_node(user, f"wave:{key}-w1")


async def test_expand_all_and_collapse_all(user: User, client: Client, settings: Settings, unique: str) -> None:
    key = f"ce-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=2, apps=2)
    ids = all_ids(key, 2, 2, 2)
    below_waves = ids["clusters"] + ids["bundles"] + ids["apps"]
    await login(user, f"/releases/{release_id}")
    await see_node(user, ids["waves"][0])
    for entity_id in below_waves:  # nothing failing or moving: the waves stay closed
        no_node(user, entity_id)

    user.find(marker="expand-all").click()
    for entity_id in ids["waves"] + below_waves:
        await see_node(user, entity_id)
    await see(user, "19 rows shown")  # release, 2 waves, 4 clusters, 4 bundles, 8 apps

    user.find(marker="collapse-all").click()
    for entity_id in below_waves:
        no_node(user, entity_id)
    for entity_id in ids["waves"]:
        await see_node(user, entity_id)


async def test_wave_progress_bars_follow_transitions(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"cw-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=1, apps=2)
    first, second = f"wave:{key}-w1", f"wave:{key}-w2"
    await login(user, f"/releases/{release_id}")
    await see_node(user, first)
    await see_node(user, second)
    assert wave_progress(user, first) == [0, 2, 0]
    assert wave_progress(user, second) == [0, 2, 0]
    assert progress_text(user) == "0/4 apps done (0%)"

    await report(client, release_id, [(f"app:{key}-w1-c1-a1", "deployed")])
    await eventually(lambda: wave_progress(user, first) == [1, 2, 0], what="wave 1 at 1/2, none failed")
    assert wave_progress(user, second) == [0, 2, 0]
    await eventually(lambda: progress_text(user) == "1/4 apps done (25%)", what="the header's progress")

    await report(client, release_id, [(f"app:{key}-w1-c1-a2", "failed")])  # a failure is done too, and turns it red
    await eventually(lambda: wave_progress(user, first) == [2, 2, 1], what="wave 1 at 2/2, one failed (red)")
    assert wave_progress(user, second) == [0, 2, 0]
    await eventually(lambda: progress_text(user) == "2/4 apps done (50%)", what="the header's progress")


async def test_freshness_chip_warns_when_the_data_is_old(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    """The chip ("updated 3 s ago", "stale: updated 2 min ago", its colour, icon and tooltip) is drawn in the browser
    from the release's freshness data and the page's clock: the data must say when the release was last confirmed
    (``asOf``), after how long that is stale (``staleAfter``) and the state version, and follow the mirror."""
    release_id = await start(client, settings, f"cf-{unique}", waves=1, clusters=1, apps=1)
    await login(user, f"/releases/{release_id}")
    await see(user, marker="freshness")
    mirror = current().mirrors.peek(release_id)
    assert mirror is not None
    assert freshness_meta(user)["staleAfter"] == stale_after(settings.MIRROR_POLL_SECONDS)
    await eventually(lambda: not is_stale(freshness_meta(user)), what="a fresh chip")

    # Temporal stops confirming the data: the poller no longer runs and the last confirmation is long past
    await mirror.stop()
    old = datetime.now(UTC) - timedelta(seconds=stale_after(settings.MIRROR_POLL_SECONDS) + 120)
    mirror.as_of = old
    await eventually(lambda: freshness_meta(user)["asOf"] == epoch_ms(old), what="the old confirmation on the page")
    meta = freshness_meta(user)
    assert is_stale(meta)  # "stale: updated 2 min ago", in warning colours
    # the tooltip: "state version <version> · last confirmed with Temporal at <old, to the millisecond> UTC"
    assert (meta["version"], meta["asOf"]) == (mirror.version, epoch_ms(old))

    # confirmations resume: the warning goes away
    mirror.start_polling()
    await eventually(lambda: not is_stale(freshness_meta(user)), what="the chip to be fresh again")


# ---- release list ---------------------------------------------------------------------------------------------




# ---- admin ----------------------------------------------------------------------------------------------------
