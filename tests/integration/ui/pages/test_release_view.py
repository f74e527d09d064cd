"""The release page's view (NiceGUI user fixture, real Temporal dev server and worker): selection, filter and search
kept in the URL, expand/collapse all, wave progress bars, the stale-data warning."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.services import current
from release_console.temporal.releases import report
from release_console.ui.components.freshness import stale_after
from tests.helpers import eventually
from tests.integration.ui.helpers import (
    login,
    see,
    select_labelled,
    set_value,
    start,
    texts,
    url_becomes,
    watch_urls,
)


def wave_progress(user: User, wave_id: str) -> tuple[str, float, str]:
    """The "done/total" label, bar value and bar colour of a wave's row."""
    header = user.find(marker=f"node {wave_id}").elements.pop()
    [label] = [e.text for e in header.descendants() if isinstance(e, ui.label) and re.fullmatch(r"\d+/\d+", e.text)]
    [bar] = [e for e in header.descendants() if isinstance(e, ui.linear_progress)]
    return label, bar.value, bar.props.get("color")


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
    await see(user, marker=f"select {failing}")  # the failing branch opens on its own
    path = f"/releases/{release_id}"
    urls = watch_urls(user)

    user.find(marker=f"select {failing}").click()
    await see(user, failing, marker="panel-id")
    await url_becomes(urls, path, {"node": failing})

    set_value(user, select_labelled(user, "Filter by state"), "failed")
    await url_becomes(urls, path, {"node": failing, "state": "failed"})
    await user.should_not_see(marker=f"select wave:{key}-w1")  # the filter is applied, not only written

    user.find(marker="search").type(f"{key}-w2-c1")
    await see(user, "4 matches")  # cluster, bundle and two apps
    await url_becomes(urls, path, {"node": failing, "state": "failed", "q": f"{key}-w2-c1"})
    link = urls[-1]

    # values taken back out of the view leave the URL too
    user.find(marker="search").clear()
    await url_becomes(urls, path, {"node": failing, "state": "failed"})
    set_value(user, select_labelled(user, "Filter by state"), None)
    await url_becomes(urls, path, {"node": failing})
    await see(user, marker=f"select wave:{key}-w1")

    # the written link opens the same view
    await user.open(link)
    await see(user, failing, marker="panel-id")
    await see(user, "4 matches")
    assert select_labelled(user, "Filter by state").value == "failed"
    assert user.find(marker="search").elements.pop().value == f"{key}-w2-c1"
    await user.should_not_see(marker=f"select wave:{key}-w1")


async def test_expand_all_and_collapse_all(user: User, client: Client, settings: Settings, unique: str) -> None:
    key = f"ce-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=2, apps=2)
    ids = all_ids(key, 2, 2, 2)
    below_waves = ids["clusters"] + ids["bundles"] + ids["apps"]
    await login(user, f"/releases/{release_id}")
    await see(user, marker=f"select {ids['waves'][0]}")
    for entity_id in below_waves:  # nothing failing or moving: the waves stay closed
        await user.should_not_see(marker=f"select {entity_id}")

    user.find(marker="expand-all").click()
    for entity_id in ids["waves"] + below_waves:
        await see(user, marker=f"select {entity_id}")
    await see(user, "19 rows shown")  # release, 2 waves, 4 clusters, 4 bundles, 8 apps

    user.find(marker="collapse-all").click()
    for entity_id in below_waves:
        await user.should_not_see(marker=f"select {entity_id}")
    for entity_id in ids["waves"]:
        await see(user, marker=f"select {entity_id}")


async def test_wave_progress_bars_follow_transitions(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"cw-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=1, apps=2)
    first, second = f"wave:{key}-w1", f"wave:{key}-w2"
    await login(user, f"/releases/{release_id}")
    await see(user, marker=f"node {first}")
    assert wave_progress(user, first) == ("0/2", 0.0, "green-7")
    assert wave_progress(user, second) == ("0/2", 0.0, "green-7")

    await report(client, release_id, [(f"app:{key}-w1-c1-a1", "deployed")])
    await eventually(lambda: wave_progress(user, first) == ("1/2", 0.5, "green-7"), what="wave 1 at 1/2")
    assert wave_progress(user, second) == ("0/2", 0.0, "green-7")
    await see(user, "1/4 apps done (25%)", marker="release-progress")

    await report(client, release_id, [(f"app:{key}-w1-c1-a2", "failed")])  # a failure is done too, and turns it red
    await eventually(lambda: wave_progress(user, first) == ("2/2", 1.0, "red-7"), what="wave 1 at 2/2, red")
    assert wave_progress(user, second) == ("0/2", 0.0, "green-7")
    await see(user, "2/4 apps done (50%)", marker="release-progress")


async def test_freshness_chip_warns_when_the_data_is_old(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"cf-{unique}", waves=1, clusters=1, apps=1)
    await login(user, f"/releases/{release_id}")
    await see(user, marker="freshness")
    mirror = current().mirrors.peek(release_id)
    assert mirror is not None
    chip = user.find(marker="freshness").elements.pop()
    await eventually(lambda: texts(user, "freshness")[0].startswith("updated "), what="a fresh chip")
    assert (chip.props.get("color"), chip.props.get("icon")) == ("grey-7", "sync")  # plain from the first update

    # Temporal stops confirming the data: the poller no longer runs and the last confirmation is long past
    await mirror.stop()
    old = datetime.now(UTC) - timedelta(seconds=stale_after(settings.MIRROR_POLL_SECONDS) + 120)
    mirror.as_of = old
    await eventually(lambda: texts(user, "freshness")[0].startswith("stale: updated "), what="the stale warning")
    assert (chip.props.get("color"), chip.props.get("icon")) == ("orange-9", "warning")
    assert chip.props.get("title") == f"state version {mirror.version} · last confirmed with Temporal at " + (
        old.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    )

    # confirmations resume: the warning goes away
    mirror.start_polling()
    await eventually(lambda: texts(user, "freshness")[0].startswith("updated "), what="the chip to be fresh again")
    assert (chip.props.get("color"), chip.props.get("icon")) == ("grey-7", "sync")


# ---- release list ---------------------------------------------------------------------------------------------




# ---- admin ----------------------------------------------------------------------------------------------------
