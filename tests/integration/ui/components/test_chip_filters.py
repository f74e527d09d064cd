"""A count chip at any level of the tree filters that subtree (the root's: the page) to its state; the URL follows.

The chips are drawn in the browser from the rows' views (``k``: app counts per state); a click sends the tree a
``chip`` event with the row and the state, which is what these tests send."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.temporal.releases import report
from release_console.ui.components.announcer import Announcer
from tests.helpers import eventually
from tests.integration.ui.helpers import (
    chip_states,
    found,
    login,
    no_node,
    see_node,
    see_panel,
    start,
    tree_event,
)


def record_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the page puts in the browser's address bar (history.replaceState), in order."""
    urls: list[str] = []
    monkeypatch.setattr(ui.navigate.history, "replace", urls.append)
    return urls


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_a_count_chip_filters_its_subtree_and_the_url_follows(
    user: User, client: Client, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    release_id = await start(client, settings, f"cp-{unique}", 2, 2, 2)
    key = f"cp-{unique}"
    bad = f"app:{key}-w2-c1-a2"
    await report(client, release_id, [(bad, "failed"), (f"app:{key}-w1-c1-a1", "deployed")])
    await login(user, f"/releases/{release_id}")
    urls = record_urls(monkeypatch)
    wave = f"wave:{key}-w2"
    await see_node(user, wave)
    await eventually(lambda: "failed" in chip_states(user, wave), what=f"a failed chip on {wave}")
    tree_event(user, "chip", wave, state="failed")
    await see_node(user, bad)
    no_node(user, f"app:{key}-w2-c1-a1")  # pending sibling: filtered out
    no_node(user, f"wave:{key}-w1")  # no failure in wave 1
    await eventually(lambda: bool(urls) and query(urls[-1]) == {"node": wave, "state": "failed"}, what="the URL")
    assert urlsplit(urls[-1]).path.endswith(release_id.split(":")[1])

    # the release's own chips filter the page
    assert "deployed" in chip_states(user, release_id)
    tree_event(user, "chip", release_id, state="deployed")
    await see_node(user, f"wave:{key}-w1")
    no_node(user, wave)
    await eventually(lambda: query(urls[-1]).get("state") == "deployed", what="the URL to follow")

    # a link with the same URL opens the same view
    await user.open(f"/releases/{release_id}?state=failed&node={bad}")
    await see_node(user, bad)
    no_node(user, f"wave:{key}-w1")


async def test_the_details_panel_chips_filter_like_the_rows(
    user: User, client: Client, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The panel's chips are buttons (a row's chips are not tab stops: the tree has one), so the filter a chip sets
    is reachable by keyboard: pressing one filters the shown node's subtree to its state."""
    key = f"pc-{unique}"
    release_id = await start(client, settings, key, 2, 1, 2)
    bad, wave = f"app:{key}-w2-c1-a2", f"wave:{key}-w2"
    await report(client, release_id, [(bad, "failed")])
    await login(user, f"/releases/{release_id}?node={wave}")
    await see_panel(user, wave)
    assert len(found(user, Announcer)) == 1  # the page's one aria-live region
    urls = record_urls(monkeypatch)
    panel = user.find(marker="entity-panel")
    panel.trigger("chip", {"id": f"wave:{key}-w1", "state": "failed"})  # not the node the panel shows: ignored
    panel.trigger("chip", {"id": wave, "state": "failed"})
    await see_node(user, bad)
    no_node(user, f"app:{key}-w2-c1-a1")  # pending sibling: filtered out
    no_node(user, f"wave:{key}-w1")
    await eventually(lambda: bool(urls) and query(urls[-1]) == {"node": wave, "state": "failed"}, what="the URL")
    assert all(query(url).get("node") != f"wave:{key}-w1" for url in urls)
