"""Helpers for the UI tests: log in through the real /login page, wait with deadlines, start releases."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console import services as services_module
from release_console.core.config import Settings
from release_console.temporal.releases import build_plan, start_release
from release_console.ui.auth import SESSION_CHECKS_KEY
from release_console.ui.components.entity_panel import EntityPanel
from release_console.ui.components.freshness import Freshness
from release_console.ui.components.live_banner import LiveBanner
from release_console.ui.components.release_list import ReleaseSummary, ReleaseTable
from release_console.ui.components.release_status import ReleaseStatus
from release_console.ui.components.timeline_chart import TimelineChart
from release_console.ui.components.tree import ReleaseTreeView
from release_console.ui.live.hub import hub
from release_console.ui.live.release_model import LiveRelease
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually

T = TypeVar("T", bound=ui.element)


async def see(user: User, content: str | None = None, *, marker: str | None = None, timeout: float = 15) -> None:
    """Wait until the page shows ``content`` / ``marker`` (NiceGUI's should_see with a deadline)."""
    await user.should_see(content, marker=marker, retries=max(1, int(timeout / 0.1)))




async def accounts_ready(timeout: float = 30) -> None:
    """Wait until the console under test has loaded its users from the accounts workflow.

    Until then a login is refused ("accounts are unavailable", as a real user would see it); start-up retries every
    ACCOUNTS_REFRESH_SECONDS when Temporal or the worker is slow to answer. A slow load is printed, not hidden.
    """
    from release_console import services as services_module

    services = await services_module.wait_until_started(timeout)
    assert services is not None and services.accounts is not None, "the console did not start"
    started = time.monotonic()
    await asyncio.wait_for(services.accounts.loaded.wait(), timeout)
    if (waited := time.monotonic() - started) > 1:
        print(f"accounts were loaded {waited:.1f}s after the console started")


async def login(
    user: User, path: str = "/", username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD
) -> None:
    """Sign in through the real login page, then open ``path``."""
    await accounts_ready()
    await user.open("/login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    with _navigation_held_by(user):
        user.find(marker="login-button").click()
        await user.should_not_see(marker="login-button", retries=100)
    await user.open(path)


@contextmanager
def _navigation_held_by(user: User) -> Iterator[None]:
    """Keep NiceGUI's ``ui.navigate`` on ``user`` while its login redirects.

    The simulated users of one app share a single global ``ui.navigate``, handed to whichever ``User`` was touched
    last, and a page with live updates touches its ``User`` on every update. Without this, another user's open
    release page could take the login's redirect into that user's browser (a ticket from another session).
    """
    touched = User.__getattribute__

    def touch_keeping_navigation(self: User, name: str) -> Any:
        value = touched(self, name)
        ui.navigate = object.__getattribute__(user, "navigate")
        return value

    User.__getattribute__ = touch_keeping_navigation  # type: ignore[method-assign]
    try:
        yield
    finally:
        User.__getattribute__ = touched  # type: ignore[method-assign]


async def start(client: Client, settings: Settings, key: str, waves: int = 2, clusters: int = 2, apps: int = 3) -> str:
    """Start a release workflow with a regular plan; returns its id."""
    plan = build_plan(key, waves, clusters, apps)
    await start_release(client, settings, plan)
    return plan.id


def texts(user: User, marker: str) -> list[str]:
    """Texts of the elements carrying ``marker``."""
    return [getattr(e, "text", "") for e in user.find(marker=marker).elements]


__all__ = ["accounts_ready", "login", "see", "start", "texts", "ui"]


WAIT = 50  # retries of 0.1 s for things that happen in a background task


def accounts():
    service = services_module.current().accounts
    assert service is not None
    return service


async def log_in(user: User, username: str, password: str, path: str = "/admin/users") -> None:
    await accounts_ready()
    await user.open(path)
    await user.should_see(marker="login-button")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login-button").click()


async def new_viewer(password: str = "viewer-password-1") -> str:
    name = f"ui-viewer-{uuid.uuid4().hex[:8]}"
    assert await services_module.wait_until_started(30) is not None
    await accounts().create_user(name, password, "viewer")
    return name


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


async def fast_session_checks(seconds: float) -> Settings:
    """Check every open page's session every ``seconds`` in this test's console (its accounts settings' refresh, and
    the one task that runs the open pages' checks, restarted at that interval); returns the accounts settings."""
    assert await services_module.wait_until_started(30) is not None
    service = accounts()
    service.settings = service.settings.model_copy(update={"ACCOUNTS_REFRESH_SECONDS": seconds})
    ticker = hub().ticker
    await ticker.stop()
    ticker.interval = seconds
    ticker.start()
    return service.settings


def session_checks() -> int:
    """Session checks made so far by the refresh ticks of every open page (ui/auth.py SESSION_CHECKS_KEY)."""
    from nicegui import Client

    return sum(c.storage.get(SESSION_CHECKS_KEY, 0) for c in list(Client.instances.values()))


# ---- the live pages ------------------------------------------------------------------------------------------------
# Their live parts are drawn in the browser (ui/live/rc_live.js) from two sources: the data an element carried when it
# was drawn (its props: NiceGUI copies a dict put into props, so they stay as of the draw) and what the element's
# live channel sent since (the shared model's views, meta, timeline, page), the newer of the two winning. The helpers
# below read the same: the element's per-tab state (which rows, which entity, which channel) from the element, and the
# data from the shared model of its channel, which must have this tab among its subscribers. The drawn texts
# themselves (clocks, tooltips, labels) are checked by the browser tests (tests/integration/ui/browser).
def found(user: User, kind: type[T]) -> list[T]:
    """The open page's elements of ``kind`` (none while the page has none, or no page is open)."""
    if user.client is None:
        return []
    try:
        return list(user.find(kind=kind).elements)
    except AssertionError:  # NiceGUI's find() fails when nothing matches
        return []


def one(user: User, kind: type[T]) -> T:
    """The open page's one element of ``kind``."""
    elements = found(user, kind)
    assert len(elements) == 1, f"{len(elements)} {kind.__name__} on the page"
    return elements[0]


def epoch_ms(moment: datetime | None) -> int | None:
    """A time as the live pages send it (milliseconds since the epoch)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def _feed(user: User, element: ui.element) -> Any:
    """The shared model sending ``element``'s channel to this tab: a LiveRelease, or a ListPage of the release list."""
    name = element.props["ch"]
    live = hub()
    model: Any = None
    if name.startswith("release|"):
        model = live.releases.get(name.removeprefix("release|"))
    elif live.release_list is not None:
        model = live.release_list.pages.get(name)
    assert model is not None and model.channel.name == name, f"no live model sends {name}"
    assert user.client is not None and user.client.id in model.channel.subscribers, f"the page does not follow {name}"
    return model


def _shared(sent: Any, drawn: Any) -> dict:
    """What a tab shows: its element holds the model's own object (one per release or view of the list, updated in
    place and sent to every tab by the channel), never a copy of its own."""
    assert drawn is sent, "the element holds a copy instead of the shared object"
    return dict(drawn)


def _meta(user: User, element: ui.element) -> dict:
    """A channel's meta as the page holds it (the model's own)."""
    model = _feed(user, element)
    sent = model.meta if isinstance(model, LiveRelease) else hub().release_list.meta  # type: ignore[union-attr]
    return _shared(sent, element.props["meta"])


# ---- the release page -----------------------------------------------------------------------------------------------
def release_tree(user: User) -> ReleaseTreeView:
    """The release page's tree element (ui/components/tree.py)."""
    return one(user, ReleaseTreeView)


def shown_nodes(user: User) -> list[str]:
    """The ids of the tree rows the page shows, top to bottom (empty while the page has no tree)."""
    trees = found(user, ReleaseTreeView)
    return list(trees[0].shown) if trees else []


async def see_node(user: User, entity_id: str, timeout: float = 15) -> None:
    """Wait until the tree shows a row for ``entity_id``."""
    await eventually(lambda: entity_id in shown_nodes(user), timeout=timeout, what=f"a tree row for {entity_id}")


def no_node(user: User, entity_id: str) -> None:
    """The tree shows no row for ``entity_id``."""
    assert entity_id not in shown_nodes(user), f"{entity_id} is shown"


def node_view(user: User, entity_id: str) -> dict:
    """What the page shows of a row: its view (``s`` state, ``c`` colour, ``u`` last transition, ``k`` app counts,
    ``p`` progress …), the release's shared one."""
    tree = release_tree(user)
    assert entity_id in tree.shown, f"{entity_id} is not shown"
    return _shared(_feed(user, tree).views.get(entity_id), tree.props["views"].get(entity_id))


def chip_states(user: User, entity_id: str) -> list[str]:
    """The states of a row's count chips, in the order shown (failures first)."""
    return [state for state, _count, _colour in node_view(user, entity_id)["k"]]


def more_rows(user: User) -> dict[str, tuple[int, int, int]]:
    """The tree's "show more" rows by parent: (next page's size, children not shown, children)."""
    return {row[3]: (row[4], row[5], row[6]) for row in release_tree(user).props["rows"] if row[2] == "more"}


def tree_event(user: User, event: str, entity_id: str, **args: object) -> None:
    """What the browser sends when a row's toggle, label, "show more" or chip is clicked (``toggle``, ``select``,
    ``more``, ``chip``)."""
    user.find(marker="release-tree").trigger(event, {"id": entity_id, **args})


def release_view(user: User) -> dict:
    """What the page's header shows of the release: its view (``s`` state, ``lbl`` "N/M apps done (p%)", ``p``)."""
    status = one(user, ReleaseStatus)
    drawn = status.props["root"]
    return _shared(_feed(user, status).views.get(drawn["id"]), drawn)


def progress_text(user: User) -> str:
    """The header's "N/M apps done (p%)"."""
    return str(release_view(user)["lbl"])


def release_state(user: User) -> str:
    """The state in the page's header."""
    return str(release_view(user)["s"])


def entity_panel(user: User) -> EntityPanel:
    """The release page's details panel."""
    return one(user, EntityPanel)


def panel_shows(user: User) -> str | None:
    """The id of the entity the details panel shows (None for its "Select a node" placeholder or without a page)."""
    panels = found(user, EntityPanel)
    return panels[0].entity_id if panels else None


def panel_state(user: User) -> tuple[str | None, str | None]:
    """(entity id, state) the details panel shows; (None, None) for its "Select a node" placeholder."""
    panel = entity_panel(user)
    if panel.entity_id is None:
        return None, None
    return panel.entity_id, _shared(_feed(user, panel).views.get(panel.entity_id), panel.props["base"])["s"]


async def see_panel(user: User, entity_id: str, timeout: float = 15) -> None:
    """Wait until the details panel shows ``entity_id``."""
    await eventually(lambda: panel_shows(user) == entity_id, timeout=timeout, what=f"the panel to show {entity_id}")


def panel_detail(user: User) -> dict:
    """What the panel shows beyond the row: ``parent``, ``children``, ``counts``, ``history`` (``[[state, colour,
    updated_at, version], …]``, newest first), ``note`` ({} for the placeholder)."""
    panel = entity_panel(user)
    if panel.entity_id is None:
        return {}
    return _shared(_feed(user, panel).details.get(panel.entity_id), panel.props["detail"])


def timeline(user: User) -> dict:
    """What the burn-up chart is drawn from: ``points`` (``[[time, done, failed, in progress], …]``) and ``note``."""
    chart = one(user, TimelineChart)
    return _shared(_feed(user, chart).timeline, chart.props["timeline"])


# ---- both live pages: freshness and banner --------------------------------------------------------------------------
def freshness_meta(user: User) -> dict:
    """What the freshness chip is drawn from: ``asOf`` (ms), ``version``, ``status``, ``staleAfter`` (seconds)."""
    return _meta(user, one(user, Freshness))


def banner_lines(user: User) -> list[list[str]]:
    """The live banner's lines ``[kind, text]`` (none while the page has no live banner)."""
    return [list(line) for banner in found(user, LiveBanner) for line in _meta(user, banner).get("banner", [])]


def banner_texts(user: User, kind: str) -> list[str]:
    """The page's banner texts of one kind (info, warning, negative): the live banner's lines and the banners
    drawn by the server (the frame's outage banner, notes about ignored URL parameters)."""
    try:
        drawn = texts(user, f"banner-{kind}")
    except AssertionError:  # NiceGUI's find() fails when nothing carries the marker
        drawn = []
    return [*drawn, *(text for line_kind, text in banner_lines(user) if line_kind == kind)]


# ---- the release list -----------------------------------------------------------------------------------------------
def list_page(user: User) -> dict:
    """The shown page of the list: ``ids``, ``matching``, ``total``, ``pages``, ``page``, ``summary`` (``[[state,
    count, colour], …]``), ``empty`` (the text shown without rows)."""
    table = one(user, ReleaseTable)
    return _shared(_feed(user, table).page, table.props["page"])


def list_ids(user: User) -> list[str]:
    """Release ids of the list's rows, top to bottom (empty while the page has no list)."""
    return list(list_page(user)["ids"]) if found(user, ReleaseTable) else []


def row_ids(user: User) -> list[str]:
    """Release ids of the list's rows, top to bottom (``list_ids``)."""
    return list_ids(user)


async def see_release(user: User, release_id: str, timeout: float = 15) -> None:
    """Wait until the list shows a row for ``release_id``."""
    await eventually(lambda: release_id in list_ids(user), timeout=timeout, what=f"a list row for {release_id}")


def list_view(user: User, release_id: str) -> dict:
    """What the list shows of one release's row (``s`` state, ``st`` workflow status or None, ``p``, ``k``, ``u``,
    ``href``, ``tw`` link to Temporal's UI)."""
    assert release_id in list_ids(user), f"{release_id} is not listed"
    table = one(user, ReleaseTable)
    return _shared(_feed(user, table).views.get(release_id), table.props["views"].get(release_id))


def summary_states(user: User) -> list[str]:
    """The states of the list's state chips (``ReleaseSummary``), in the order shown."""
    summary = one(user, ReleaseSummary)
    page = _shared(_feed(user, summary).page, summary.props["page"])
    return [state for state, _count, _colour in page["summary"]]


def pick_state(user: User, state: str | None) -> None:
    """What the browser sends when a state chip of the list (or its "all" chip, ``None``) is clicked."""
    user.find(marker="state-summary").trigger("pick", {"state": state})


def go_to_page(user: User, page: int) -> None:
    """What the browser sends when the list's pager moves to ``page``."""
    user.find(marker="release-rows").trigger("page", {"page": page})
