"""UI features without a test elsewhere (NiceGUI user fixture, real Temporal dev server and worker): the view kept
in the URL, expand/collapse all, wave progress, list paging and sorting, admin user actions, stale data warning."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console import services as services_module
from release_console.core.config import Settings
from release_console.domain.tree import percent
from release_console.services import current
from release_console.temporal.releases import report
from release_console.ui.components.freshness import stale_after
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually
from tests.integration.ui.helpers import login, see, start, texts

REPLACE_STATE = re.compile(r'history\.replaceState\(\{\}, "", (".*")\);')


def watch_urls(user: User) -> list[str]:
    """Record every URL the open page writes with ``history.replaceState`` (what it sends to the browser)."""
    outbox = user.client.outbox
    urls: list[str] = []
    enqueue = outbox.enqueue_message

    def recording(message_type, data, target_id) -> None:  # type: ignore[no-untyped-def]
        if message_type == "run_javascript" and (match := REPLACE_STATE.fullmatch(data.get("code", ""))):
            urls.append(json.loads(match.group(1)))
        enqueue(message_type, data, target_id)

    outbox.enqueue_message = recording  # type: ignore[method-assign]
    return urls


def split(url: str) -> tuple[str, dict[str, str]]:
    """Path and query parameters of a URL."""
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


async def url_becomes(urls: list[str], path: str, params: dict[str, str]) -> None:
    """Wait until the last URL written by the page is ``path`` with exactly ``params``."""
    await eventually(lambda: bool(urls) and split(urls[-1]) == (path, params), what=f"the URL {path} {params}")


def select_labelled(user: User, label: str) -> ui.select:
    """The page's select with this label."""
    [select] = [s for s in user.find(kind=ui.select).elements if s.props.get("label") == label]
    return select


def set_value(user: User, element: ui.element, value: object) -> None:
    """Pick a value the way the browser reports it: the element's value changes and its handlers run."""
    with user:
        element.value = value  # type: ignore[attr-defined]


def row_ids(user: User) -> list[str]:
    """Release ids of the list's rows, top to bottom."""
    table = user.find(marker="release-rows").elements.pop()
    ids = []
    for row in table.default_slot.children:
        links = [e for e in row.descendants() if isinstance(e, ui.link)]
        if links:
            ids.append(links[0].text)
    return ids


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
async def test_release_list_writes_its_view_into_the_url_and_state_chips_filter(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    prefix = f"cl-{unique}"
    moving = await start(client, settings, f"{prefix}-a", waves=1, clusters=1, apps=1)
    waiting = await start(client, settings, f"{prefix}-b", waves=1, clusters=1, apps=1)
    await report(client, moving, [(moving, "deploying")])
    await login(user, f"/?q={prefix}")
    await see(user, marker=f"open {moving}")
    await see(user, marker=f"open {waiting}")
    source = current().release_list
    await eventually(lambda: (item := source.get(moving)) is not None and item.state == "deploying", what="the list")
    urls = watch_urls(user)

    set_value(user, select_labelled(user, "Sort by"), "id")
    await url_becomes(urls, "/", {"q": prefix, "sort": "id"})
    await eventually(lambda: row_ids(user) == [moving, waiting], what="rows by id")

    await see(user, marker="summary deploying")
    user.find(marker="summary deploying").click()
    await url_becomes(urls, "/", {"q": prefix, "sort": "id", "state": "deploying"})
    await eventually(lambda: row_ids(user) == [moving], what="only the deploying release")
    assert select_labelled(user, "State").value == "deploying"

    user.find(marker="summary-all").click()
    await url_becomes(urls, "/", {"q": prefix, "sort": "id"})
    await eventually(lambda: row_ids(user) == [moving, waiting], what="both releases again")

    set_value(user, select_labelled(user, "Sort by"), "updated")  # the default is left out of the URL
    await url_becomes(urls, "/", {"q": prefix})


async def test_release_list_pages_and_sorts_by_id_and_progress(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    from release_console.ui.pages.releases import PAGE_SIZE

    prefix = f"cp-{unique}"
    count = PAGE_SIZE + 3
    ids = list(
        await asyncio.gather(
            *(start(client, settings, f"{prefix}-{n:03d}", waves=1, clusters=1, apps=3) for n in range(count))
        )
    )
    assert ids == sorted(ids)
    most, some = ids[0], ids[1]  # 2 of 3 and 1 of 3 apps done; every other release has none
    await report(client, most, [(f"app:{prefix}-000-w1-c1-a1", "deployed"), (f"app:{prefix}-000-w1-c1-a2", "deployed")])
    await report(client, some, [(f"app:{prefix}-001-w1-c1-a1", "deployed")])
    await login(user, f"/?q={prefix}&sort=id")
    await see(user, marker="release-rows")
    source = current().release_list

    def listed() -> bool:
        items = {i.id: i for i in source.items if i.id.startswith(f"release:{prefix}-")}
        return len(items) == count and items[most].progress == percent(2, 3) and items[some].progress == percent(1, 3)

    await eventually(listed, timeout=30, what=f"{count} releases with their progress in the shared list")
    await eventually(lambda: row_ids(user) == ids[:PAGE_SIZE], what="page 1 by id")
    await see(user, marker="pager")
    urls = watch_urls(user)

    set_value(user, user.find(marker="pager").elements.pop(), 2)
    await url_becomes(urls, "/", {"q": prefix, "sort": "id", "page": "2"})
    await eventually(lambda: row_ids(user) == ids[PAGE_SIZE:], what="page 2 by id")

    set_value(user, select_labelled(user, "Sort by"), "progress")  # least done first; the page is kept
    by_progress = [*ids[2:], some, most]
    await url_becomes(urls, "/", {"q": prefix, "sort": "progress", "page": "2"})
    await eventually(lambda: row_ids(user) == by_progress[PAGE_SIZE:], what="page 2 by progress")

    set_value(user, user.find(marker="pager").elements.pop(), 1)
    await url_becomes(urls, "/", {"q": prefix, "sort": "progress"})
    await eventually(lambda: row_ids(user) == by_progress[:PAGE_SIZE], what="page 1 by progress")

    await user.open(f"/?q={prefix}&sort=progress&page=2")  # the URL alone opens that page
    await see(user, marker="release-rows")
    await eventually(lambda: row_ids(user) == by_progress[PAGE_SIZE:], what="page 2 by progress from the URL")


# ---- admin ----------------------------------------------------------------------------------------------------
async def test_admin_changes_role_resets_password_disables_and_enables_a_user(user: User) -> None:
    services = await services_module.wait_until_started(30)
    assert services is not None and services.accounts is not None
    accounts = services.accounts
    name, first_password, new_password = f"cov-{uuid.uuid4().hex[:8]}", "first-password-1", "second-password-2"
    await accounts.create_user(name, first_password, "viewer")
    http = user.http_client

    async def api_login(password: str) -> int:
        response = await http.post("/api/v1/login/access-token", data={"username": name, "password": password})
        return response.status_code

    def table_row() -> dict:
        [row] = [r for r in user.find(marker="users-table").elements.pop().rows if r["username"] == name]
        return row

    async def message_is(text: str) -> None:
        await eventually(lambda: texts(user, "users-message") == [text], what=f"the message {text!r}")

    await login(user, "/admin/users", ADMIN_USERNAME, ADMIN_PASSWORD)
    await see(user, marker="users-table")
    set_value(user, user.find(marker="selected-user").elements.pop(), name)

    set_value(user, user.find(marker="change-role").elements.pop(), "admin")
    user.find(marker="set-role").click()
    await message_is("role changed")
    assert accounts.principal(name).role == "admin"
    assert table_row()["role"] == "admin"

    user.find(marker="reset-password").type(new_password)
    user.find(marker="reset").click()
    await message_is("password changed")
    assert user.find(marker="reset-password").elements.pop().value == ""
    response = await http.post("/api/v1/login/access-token", data={"username": name, "password": new_password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    users = await http.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert users.status_code == 200, users.text  # the new role holds for the API too
    assert await api_login(first_password) == 401

    user.find(marker="disable").click()
    await message_is("disabled")
    assert accounts.principal(name) is None
    assert table_row()["enabled"] == "no"
    assert await api_login(new_password) == 401

    user.find(marker="enable").click()
    await message_is("enabled")
    assert table_row()["enabled"] == "yes"
    assert await api_login(new_password) == 200
