"""What every open tab of the release list shares: the rows of each view of it, computed once per list refresh.

A *view* of the list is what its controls pick: state and status filters, search text, order and page. Tabs with the
same view share one :class:`ListPage` (its ids, totals, the views of its rows) and one channel. When the shared
release list changes, :class:`LiveReleaseList` works out once which rows changed, then once per view which
releases its page holds, and sends each view's tabs one message: the page's ids when they moved, the rows that
changed or arrived, the summary. A row's view is a small dict updated in place, shared by every page that shows it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson
from nicegui import background_tasks

from ...core.links import release_path
from ...core.listeners import Listeners
from ...domain.ids import EntityType
from ...domain.states import state_meaning
from ...domain.workflow_status import PROBLEM_STATUSES, RUNNING, status_label
from ...readpath.release_list import matching
from ..components.freshness import stale_after
from ..components.progress import failed_apps
from ..components.time_ago import exact_time, parse_time
from ..theme import state_color, state_rank
from .channel import Channel
from .release_model import _epoch_ms, _now_ms, chips

if TYPE_CHECKING:
    from ...readpath.release_list import ReleaseList, ReleaseListItem

PAGE_SIZE = 50
SORTS: dict[str, str] = {
    "updated": "Last change",
    "id": "Release id",
    "state": "State (failures first)",
    "progress": "Progress",
}
YIELD_EVERY_PAGES = 8
View = dict[str, object]
OptionsListener = Callable[[list[str]], None]
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ListView:
    """What one tab's controls pick."""

    state: str | None = None
    status: str | None = None
    sort: str = "updated"
    query: str | None = None
    page: int = 1

    @property
    def name(self) -> str:
        return "list|" + orjson.dumps([self.state, self.status, self.sort, self.query, self.page]).decode()


def sort_items(items: list[ReleaseListItem], sort: str) -> list[ReleaseListItem]:
    """Items in the chosen order (newest change first by default)."""
    if sort == "id":
        return sorted(items, key=lambda i: i.id)
    if sort == "state":
        return sorted(items, key=lambda i: (state_rank(i.state), i.id))
    if sort == "progress":
        return sorted(items, key=lambda i: (i.progress, i.id))
    return sorted(items, key=lambda i: parse_time(i.updated_at) or _OLDEST, reverse=True)


@dataclass(frozen=True, slots=True)
class Slice:
    """One view's page of the list: its items, how many match, how many pages, which page (the last if beyond)."""

    items: list[ReleaseListItem]
    matching: int
    pages: int
    page: int


def slices(items: list[ReleaseListItem], views: list[ListView]) -> dict[str, Slice]:
    """Each view's page of ``items``, sorted once per order (pure CPU over immutable items: run in a worker thread;
    sorting thousands of releases would otherwise hold the event loop)."""
    ordered: dict[str, list[ReleaseListItem]] = {}
    found: dict[str, Slice] = {}
    for view in views:
        if view.sort not in ordered:
            ordered[view.sort] = sort_items(items, view.sort)
        kept = matching(ordered[view.sort], view.state, view.status, view.query)
        pages = max(1, -(-len(kept) // PAGE_SIZE))
        number = min(view.page, pages)
        found[view.name] = Slice(kept[(number - 1) * PAGE_SIZE : number * PAGE_SIZE], len(kept), pages, number)
    return found


def app_counts(item: ReleaseListItem) -> dict[str, int]:
    """Apps per state of a list item (its counts are ``{type: {state: n}}``)."""
    return {state: n for state, n in item.counts.get(EntityType.APP.value, {}).items() if n}


def row_view(
    item: ReleaseListItem, revision: int, temporal_url: Callable[[str], str | None], show_type: bool = False
) -> View:
    """What a list row shows of one release (its workflow type when the console lists several types)."""
    counts = app_counts(item)
    return {
        "id": item.id,
        "href": release_path(item.id),
        "s": item.state,
        "c": state_color(item.state),
        "m": state_meaning(item.state),
        "st": None if item.status == RUNNING else status_label(item.status),
        "sp": item.status in PROBLEM_STATUSES,
        "u": item.updated_at,
        "ut": exact_time(item.updated_at) if item.updated_at else "",
        "p": [item.apps_done, item.apps_total, failed_apps(counts)],
        "k": chips(counts),
        "tw": temporal_url(item.id),
        "wt": item.workflow_type if show_type else None,
        "ver": revision,
    }


def signature(item: ReleaseListItem) -> tuple[object, ...]:
    """What a row shows, to tell whether it changed."""
    return (item.state, item.status, item.version, str(item.updated_at), item.apps_done, item.apps_total, item.counts,
            item.workflow_type)


@dataclass(eq=False)
class ListPage:
    """One view of the list, shared by the tabs that show it."""

    view: ListView
    channel: Channel
    page: View = field(default_factory=dict)
    """``ids``, ``matching``, ``total``, ``pages``, ``page``, ``summary``, ``empty``, and ``seq``, the message it is
    part of (updated in place)."""
    views: dict[str, View] = field(default_factory=dict)
    """The views of the rows on the page (the same objects as the list's)."""
    tabs: set[str] = field(default_factory=set)
    seq: int = field(default_factory=_now_ms)
    """Numbers go on from the time the page was made: a tab coming back to this view (a page made again, under the
    same channel name) never sees them go back."""


class LiveReleaseList:
    """The shared model of the release list page: one per app."""

    def __init__(self, source: ReleaseList, temporal_url: Callable[[str], str | None] = lambda _id: None,
                 on_closed: Callable[[Channel], None] = lambda _channel: None, show_types: bool = False) -> None:
        self.source = source
        self.temporal_url = temporal_url
        self.show_types = show_types
        """Rows name their workflow type (the console lists more than one)."""
        self.on_closed = on_closed
        """Called with a page's channel when its last tab left."""
        self.views: dict[str, View] = {}
        self.watching: Counter[str] = Counter()
        self.pages: dict[str, ListPage] = {}
        self.meta: View = {}
        self.states: list[str] = []
        """The states present, for the state filter's options."""
        self.options: Listeners[OptionsListener] = Listeners("release list options")
        self.revision = 0
        self._signatures: dict[str, tuple[object, ...]] = {}
        self._summary: list[list[str | int]] = []
        self._pending: asyncio.Task[None] | None = None
        self._again = False
        self._unsubscribe: Callable[[], None] | None = None
        self._update_meta()
        self._update_summary()

    def close(self) -> None:
        """Stop following the shared list (it refreshes only while someone listens)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._pending is not None:
            self._pending.cancel()

    def channels(self) -> list[Channel]:
        return [page.channel for page in self.pages.values()]

    # ---- tabs -----------------------------------------------------------------------------------------------------
    async def join(self, view: ListView, client_id: str) -> ListPage:
        """The shared page of ``view``, counting ``client_id`` among its tabs (a new view is computed first)."""
        page = self.pages.get(view.name)
        if page is None:
            found = await asyncio.to_thread(slices, list(self.source.items), [view])
            page = self.pages.get(view.name)  # another tab may have made it meanwhile
            if page is None:
                self._follow_source()
                seq = _now_ms()
                page = ListPage(view, Channel(view.name, self._catch_up_of(view.name), seq=seq), seq=seq)
                self.pages[view.name] = page
                self._fill(page, found[view.name])
                page.page["seq"] = page.seq
        page.tabs.add(client_id)
        return page

    def _follow_source(self) -> None:
        """A first page: follow the shared list from now on (close() stops when the last one goes)."""
        if self._unsubscribe is None:
            self._unsubscribe = self.source.add_listener(self._on_list)
            self._update_meta()
            self._update_summary()

    def leave(self, page: ListPage, client_id: str) -> None:
        page.tabs.discard(client_id)
        page.channel.unsubscribe(client_id)
        if not page.tabs and self.pages.get(page.view.name) is page:
            del self.pages[page.view.name]
            self._unwatch(page.views)
            self.on_closed(page.channel)
            if not self.pages:
                self.close()

    # ---- computing ------------------------------------------------------------------------------------------------
    def _view(self, item: ReleaseListItem) -> View:
        view = self.views.get(item.id)
        if view is None:
            view = self.views[item.id] = row_view(item, self.revision, self.temporal_url, self.show_types)
            self._signatures[item.id] = signature(item)
        return view

    def _unwatch(self, ids: Iterable[str]) -> None:
        for release_id in list(ids):
            left = self.watching[release_id] - 1
            if left > 0:
                self.watching[release_id] = left
            else:
                self.watching.pop(release_id, None)
                self.views.pop(release_id, None)
                self._signatures.pop(release_id, None)

    def _fill(self, page: ListPage, found: Slice) -> tuple[bool, set[str]]:
        """Put one view's new slice in its page; (its ids or totals moved, ids new on it)."""
        ids = [i.id for i in found.items]
        arrived = {i for i in ids if i not in page.views}
        for item in found.items:
            if item.id in arrived:
                self.watching[item.id] += 1
                page.views[item.id] = self._view(item)
        kept = set(ids)
        gone = [i for i in page.views if i not in kept]
        for release_id in gone:
            del page.views[release_id]
        self._unwatch(gone)
        content = {
            "ids": ids,
            "matching": found.matching,
            "total": len(self.source.items),
            "pages": found.pages,
            "page": found.page,
            "summary": self._summary,
            "empty": self._empty_text(),
        }
        moved = content != {k: v for k, v in page.page.items() if k != "seq"}
        if moved:
            page.page.update(content)
        return moved, arrived

    def _empty_text(self) -> str:
        if self.source.error is not None and self.source.as_of is None:
            return "The release list could not be loaded: Temporal unreachable."
        return "No releases match the filters." if self.source.items else "No releases yet."

    # ---- following the list ---------------------------------------------------------------------------------------
    def _on_list(self, _source: ReleaseList) -> None:
        """The shared list changed: work it out once, then per page (in a task that yields between pages)."""
        if self._pending is not None and not self._pending.done():
            self._again = True
            return
        self._pending = background_tasks.create(self._follow(), name="live release list")

    async def _follow(self) -> None:
        while True:
            self._again = False
            await self._apply()
            if not self._again:
                return

    async def _apply(self) -> None:
        self.revision += 1
        items = list(self.source.items)
        by_id = {item.id: item for item in items}
        changed: set[str] = set()
        for release_id, view in self.views.items():
            item = by_id.get(release_id)
            if item is not None and signature(item) != self._signatures.get(release_id):
                self._signatures[release_id] = signature(item)
                view.clear()
                view.update(row_view(item, self.revision, self.temporal_url, self.show_types))
                changed.add(release_id)
        meta_moved = self._update_meta()
        summary_moved = self._update_summary()
        pages = list(self.pages.values())
        found = await asyncio.to_thread(slices, items, [page.view for page in pages])
        for index, page in enumerate(pages):
            if index and index % YIELD_EVERY_PAGES == 0:
                await asyncio.sleep(0)
            if self.pages.get(page.view.name) is not page:
                continue  # its last tab left meanwhile
            moved, arrived = self._fill(page, found[page.view.name])
            rows = (changed & set(page.views)) | arrived
            if moved or rows or meta_moved or summary_moved:
                self._publish(page, rows)

    def _publish(self, page: ListPage, rows: Iterable[str]) -> None:
        page.seq += 1
        page.page["seq"] = page.seq
        payload = self._message(page, rows)
        if page.channel.subscribers:
            background_tasks.create(page.channel.publish(page.seq, payload), name=f"publish {page.view.name}")
        else:
            page.channel.seq = page.seq

    def _message(self, page: ListPage, rows: Iterable[str]) -> bytes:
        views = {i: page.views[i] for i in rows if i in page.views}
        return orjson.dumps({"ch": page.channel.name, "seq": page.seq, "now": _now_ms(), "page": page.page,
                             "views": views, "meta": self.meta})

    def _catch_up_of(self, name: str) -> Callable[[int], tuple[int, bytes]]:
        """The catch-up of the page ``name`` (whatever message a tab has: a list page's catch-up is always whole)."""
        return lambda _since: self._catch_up(name)

    def _catch_up(self, name: str) -> tuple[int, bytes]:
        """Everything a page shows: a list page is small, so a catch-up is always whole."""
        page = self.pages[name]
        return page.seq, self._message(page, page.views)

    def heartbeat(self, channel: Channel) -> bytes:
        """The list's freshness for one page's tabs (unnumbered)."""
        self.meta["asOf"] = _epoch_ms(self.source.as_of)
        return orjson.dumps({"ch": channel.name, "now": _now_ms(), "meta": {"asOf": self.meta["asOf"]}})

    def _update_meta(self) -> bool:
        source = self.source
        banner: list[list[str]] = []
        if source.error is not None:
            when = f"as of {exact_time(source.as_of)}" if source.as_of else "no releases loaded yet"
            banner.append(["warning", f"Temporal unreachable: {source.error}. Retrying; {when}."])
        content = {"asOf": _epoch_ms(source.as_of), "staleAfter": stale_after(source.refresh_seconds),
                   "status": None, "banner": banner}
        moved = content["banner"] != self.meta.get("banner")
        self.meta.clear()
        self.meta.update(content)
        return moved

    def _update_summary(self) -> bool:
        by_state = Counter(item.state for item in self.source.items)
        ordered = sorted(by_state.items(), key=lambda kv: (state_rank(kv[0]), kv[0]))
        summary: list[list[str | int]] = [[state, number, state_color(state)] for state, number in ordered]
        moved = summary != self._summary
        self._summary = summary
        states = sorted(by_state)
        if states != self.states:
            self.states = states
            self.options.notify(states)
        return moved
