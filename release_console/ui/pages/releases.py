"""``/``: every release with state, progress, app counts and last change; live, filterable, sortable, paged.

The rows are drawn in the browser from the list's shared model (ui/live/list_model.py): each view of the list
(filters, order, page) is worked out once per change of the shared release list for all the tabs that show it,
never per tab or on a timer.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from nicegui import APIRouter, ui

from ... import services
from ...core.links import temporal_workflow_url, with_query
from ...domain.workflow_status import STATUS_FILTERS, InvalidStatusFilter, parse_status_filter
from ..components.announcer import ListAnnouncer
from ..components.freshness import Freshness
from ..components.live_banner import LiveBanner
from ..components.release_list import ReleaseSummary, ReleaseTable
from ..components.url_params import choice_param, page_param, state_param, text_param
from ..frame import add_banner, frame
from ..live.hub import hub
from ..live.list_model import SORTS, ListPage, ListView, LiveReleaseList

router = APIRouter()

MAX_QUERY_LENGTH = 140
MAX_PAGE = 100_000


@router.page("/")
async def releases_page(
    state: str | None = None,
    sort: str | None = None,
    q: str | None = None,
    page: str | None = None,
    status: str | None = None,
) -> None:
    """The release list; bad query parameters are ignored with a note in the banner."""
    with frame("Releases", outage_banner=False) as layout:  # the list's own banner names outages
        state_filter, state_note = state_param(state)
        order, sort_note = choice_param(sort, SORTS, "updated", "sort")
        number, page_note = page_param(page)
        try:
            status_filter, status_note = parse_status_filter(status), None
        except InvalidStatusFilter as exc:
            status_filter, status_note = None, f"Ignored the status filter: {exc}."
        with layout.banner:
            notes = ui.column().classes("w-full gap-1").mark("url-notes")
            live_banner = ui.column().classes("w-full gap-1")
        for note in (state_note, sort_note, page_note, status_note):
            if note:
                add_banner(notes, note, kind="info")
        await ui.context.client.connected()
        view = ListView(state_filter, status_filter, order, text_param(q, MAX_QUERY_LENGTH), max(1, number))
        settings = services.running().settings
        model = hub().list_model(
            services.running().release_list,
            partial(temporal_workflow_url, settings.temporal_ui_url, settings.TEMPORAL_NAMESPACE),
            show_types=len(settings.release_workflow_types) > 1,
        )
        client = ui.context.client
        list_page = await model.join(view, client.id)
        if client.is_deleted:  # the tab went away while its view was computed
            model.leave(list_page, client.id)
            return
        ReleaseListView(live_banner, model, list_page)


class ReleaseListView:
    """The list's controls (per tab) and its live parts (shared by every tab with the same view of the list)."""

    def __init__(self, banner: ui.column, model: LiveReleaseList, page: ListPage) -> None:
        self.client = ui.context.client
        self.model = model
        self.page = page
        self.view = page.view
        with banner:
            LiveBanner(self.page.channel, self.page.seq, self.model.meta)
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("Releases").classes("text-2xl font-bold")
            ui.space()
            self.freshness = Freshness(self.page.channel, self.page.seq, self.model.meta)
        self.summary = ReleaseSummary(self.page, self.view.state)
        self.summary.on("pick", lambda e: self.set_filter(e.args.get("state") if isinstance(e.args, dict) else None))
        with ui.row().classes("w-full items-center gap-2"):
            self.state_select = ui.select(
                self._state_options(self.model.states), value=self.view.state, label="State",
                on_change=lambda e: self.set_filter(e.value),
            ).classes("w-48")
            ui.select(
                {None: "any status", **STATUS_FILTERS}, value=self.view.status, label="Workflow status",
                on_change=lambda e: self.set_status(e.value),
            ).classes("w-64").mark("status-filter")
            ui.select(SORTS, value=self.view.sort, label="Sort by", on_change=lambda e: self.set_sort(e.value)).classes(
                "w-56"
            )
            ui.input(
                "Search release id", value=self.view.query, on_change=lambda e: self.set_query(e.value or "")
            ).props("clearable dense debounce=300").classes("w-64").mark("release-search")
        with ui.card().classes("w-full p-0"):
            self.table = ReleaseTable(self.page)
        self.announcer = ListAnnouncer(self.page)  # the page's aria-live region: new failures, said politely
        self.table.on("page", lambda e: self.set_page(e.args.get("page") if isinstance(e.args, dict) else 1))
        live_tab = hub().tab(self.client)
        live_tab.join(self.page.channel, self.page.seq)
        remove_options = self.model.options.add(self._on_options)

        def on_delete() -> None:
            remove_options()
            self.model.leave(self.page, self.client.id)

        self.client.on_delete(on_delete)
        self._update_url()

    def _state_options(self, states: list[str]) -> dict[str | None, str]:
        """The states present, and the one filtered by (it may be in no release right now)."""
        options: dict[str | None, str] = {None: "all states", **{s: s for s in states}}
        if self.view.state and self.view.state not in options:
            options[self.view.state] = self.view.state
        return options

    def _on_options(self, states: list[str]) -> None:
        """A state appeared or went away: the filter's options follow (rare)."""
        if not self.client.is_deleted:
            with self.client:
                self.state_select.set_options(self._state_options(states), value=self.view.state)

    # ---- the controls: this tab moves to another view of the list ----------------------------------------------
    async def set_filter(self, state: str | None) -> None:
        """Show only releases in ``state``."""
        if not isinstance(state, str | None) or (state or None) == self.view.state:
            return
        await self._show(replace(self.view, state=state or None, page=1))
        self.state_select.set_options(self._state_options(self.model.states), value=self.view.state)

    async def set_status(self, status: str | None) -> None:
        """Show only releases whose workflow status matches ``status`` (a STATUS_FILTERS value)."""
        await self._show(replace(self.view, status=status if status in STATUS_FILTERS else None, page=1))

    async def set_sort(self, sort: str) -> None:
        """Change the order."""
        await self._show(replace(self.view, sort=sort if sort in SORTS else "updated"))

    async def set_query(self, text: str) -> None:
        """Show only releases whose id contains ``text``."""
        await self._show(replace(self.view, query=text_param(text, MAX_QUERY_LENGTH), page=1))

    async def set_page(self, page: object) -> None:
        """Go to another page of results."""
        number = page if type(page) is int else 1
        await self._show(replace(self.view, page=max(1, min(number, MAX_PAGE))))

    async def _show(self, view: ListView) -> None:
        if view == self.view:
            return
        live_tab = hub().tab(self.client)
        live_tab.leave(self.page.channel)
        self.model.leave(self.page, self.client.id)
        self.view = view
        self.page = await self.model.join(view, self.client.id)
        live_tab.join(self.page.channel, self.page.seq)
        self.summary.show(self.page, view.state)
        self.table.show(self.page)
        self.announcer.show(self.page)
        self._update_url()

    def _update_url(self) -> None:
        view = self.view
        page = self.page.page.get("page", view.page)
        params = {
            "state": view.state,
            "status": view.status,
            "sort": None if view.sort == "updated" else view.sort,
            "q": view.query,
            "page": None if page == 1 else page,
        }
        ui.navigate.history.replace(with_query("/", params))
