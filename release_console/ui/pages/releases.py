"""``/``: every release with state, progress, app counts and last change; live, filterable, sortable, paged.

The shared release list notifies its listeners only when it changed; a page filters and sorts it again only then,
or when the user changes a filter, the order or the page — never on every timer tick.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from nicegui import APIRouter, ui

from ... import services
from ...domain.ids import EntityType
from ...domain.workflow_status import STATUS_FILTERS, InvalidStatusFilter, parse_status_filter, status_matches
from ..components.badges import StateBadge, count_chips
from ..components.freshness import FreshnessLabel
from ..components.progress import ProgressBar, failed_apps
from ..components.time_ago import TimeAgoLabel, exact_time, parse_time
from ..components.url_params import choice_param, page_param, state_param, text_param
from ..components.urls import release_path, temporal_workflow_url, with_query
from ..components.workflow_status import status_chip
from ..frame import add_banner, frame, show_banner
from ..theme import state_color, state_rank

router = APIRouter()

PAGE_SIZE = 50
TICK_SECONDS = 0.5
SORTS: dict[str, str] = {
    "updated": "Last change",
    "id": "Release id",
    "state": "State (failures first)",
    "progress": "Progress",
}
MAX_QUERY_LENGTH = 140


def app_counts(item: Any) -> dict[str, int]:
    """Apps per state of a list item (its counts are ``{type: {state: n}}``)."""
    return {state: n for state, n in item.counts.get(EntityType.APP.value, {}).items() if n}


def sort_items(items: list[Any], sort: str) -> list[Any]:
    """Items in the chosen order (newest change first by default)."""
    if sort == "id":
        return sorted(items, key=lambda i: i.id)
    if sort == "state":
        return sorted(items, key=lambda i: (state_rank(i.state), i.id))
    if sort == "progress":
        return sorted(items, key=lambda i: (i.progress, i.id))
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(items, key=lambda i: parse_time(i.updated_at) or oldest, reverse=True)


def row_signature(item: Any) -> tuple:
    """What a rendered row shows."""
    return item.id, item.state, item.status, item.version, str(item.updated_at), item.apps_done, item.apps_total


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
        ReleaseListView(live_banner, state=state_filter, sort=order, query=q, page=number, status=status_filter)


class ReleaseListView:
    """The list's controls and rows, patched in place by one timer per client."""

    def __init__(
        self,
        banner: ui.column,
        *,
        state: str | None,
        sort: str,
        query: str | None,
        page: int,
        status: str | None = None,
    ) -> None:
        self.source = services.running().release_list
        self.settings = services.running().settings
        self.banner = banner
        self.state_filter = state
        self.status_filter = status
        self.sort = sort if sort in SORTS else "updated"
        self.query = text_param(query, MAX_QUERY_LENGTH)
        self.page = max(1, page)
        self.rows: dict[str, tuple[tuple, ui.row, TimeAgoLabel | None]] = {}
        self.order: list[str] = []
        self.banner_key: object = ()
        self._ticks = 0
        self._matching: list[Any] = []
        self._source_changed = True
        remove = self.source.add_listener(self._on_source_changed)
        ui.context.client.on_delete(remove)
        with ui.row().classes("w-full items-center gap-2"):
            ui.label("Releases").classes("text-2xl font-bold")
            self.total_label = ui.label("").classes("opacity-70").mark("release-total")
            ui.space()
            self.freshness = FreshnessLabel(self.settings.RELEASE_LIST_REFRESH_SECONDS)
        self.summary = ui.row().classes("w-full items-center gap-1").mark("state-summary")
        with ui.row().classes("w-full items-center gap-2"):
            self.state_select = ui.select(
                {None: "all states"}, value=None, label="State", on_change=lambda e: self.set_filter(e.value)
            ).classes("w-48")
            self.status_select = (
                ui.select(
                    {None: "any status", **STATUS_FILTERS},
                    value=self.status_filter,
                    label="Workflow status",
                    on_change=lambda e: self.set_status(e.value),
                )
                .classes("w-64")
                .mark("status-filter")
            )
            ui.select(SORTS, value=self.sort, label="Sort by", on_change=lambda e: self.set_sort(e.value)).classes(
                "w-56"
            )
            ui.input("Search release id", value=self.query, on_change=lambda e: self.set_query(e.value or "")).props(
                "clearable dense debounce=300"
            ).classes("w-64").mark("release-search")
        with ui.card().classes("w-full p-0"):
            self.table = ui.column().classes("w-full gap-0").mark("release-rows")
        self.pager = ui.row().classes("w-full justify-center")
        self.render()
        self._banner()
        ui.timer(TICK_SECONDS, self.tick)

    def _on_source_changed(self, _source: Any) -> None:
        self._source_changed = True

    # ---- state changes from the controls ---------------------------------------------------------
    def set_filter(self, state: str | None) -> None:
        """Show only releases in ``state``."""
        if (state or None) == self.state_filter:
            return
        self.state_filter = state or None
        self.page = 1
        self.render(recompute=True)

    def set_status(self, status: str | None) -> None:
        """Show only releases whose workflow status matches ``status`` (a STATUS_FILTERS value)."""
        status = status if status in STATUS_FILTERS else None
        if status == self.status_filter:
            return
        self.status_filter = status
        self.page = 1
        self.render(recompute=True)

    def set_sort(self, sort: str) -> None:
        """Change the order."""
        self.sort = sort if sort in SORTS else "updated"
        self.render(recompute=True)

    def set_query(self, text: str) -> None:
        """Show only releases whose id contains ``text``."""
        self.query = text_param(text, MAX_QUERY_LENGTH)
        self.page = 1
        self.render(recompute=True)

    def set_page(self, page: int) -> None:
        """Go to another page of results."""
        self.page = max(1, int(page or 1))
        self.render()

    # ---- rendering -----------------------------------------------------------------------------
    def _recompute(self) -> None:
        """Filter and sort the shared list for this page's controls (only when the list or a control changed)."""
        self._source_changed = False
        items = list(self.source.items)
        if self.state_filter:
            items = [i for i in items if i.state == self.state_filter]
        if self.status_filter:
            items = [i for i in items if status_matches(i.status, self.status_filter)]
        if self.query:
            needle = self.query.lower()
            items = [i for i in items if needle in i.id.lower()]
        self._matching = sort_items(items, self.sort)

    def visible(self) -> tuple[list[Any], int]:
        """The items on the current page and the number matching the filters."""
        items = self._matching
        pages = max(1, -(-len(items) // PAGE_SIZE))
        self.page = min(self.page, pages)
        start = (self.page - 1) * PAGE_SIZE
        return items[start : start + PAGE_SIZE], len(items)

    def render(self, *, recompute: bool = False) -> None:
        """Bring controls, summary, rows and pager up to date with the list source."""
        if recompute or self._source_changed:
            self._recompute()
        everything = self.source.items
        shown, matching = self.visible()
        by_state = Counter(i.state for i in everything)
        self._render_summary(by_state, len(everything))
        options: dict[str | None, str] = {None: "all states", **{s: f"{s} ({n})" for s, n in sorted(by_state.items())}}
        if self.state_filter and self.state_filter not in options:
            options[self.state_filter] = f"{self.state_filter} (0)"
        self.state_select.set_options(options, value=self.state_filter)
        self.total_label.set_text(
            f"{matching} of {len(everything)} shown" if matching != len(everything) else f"{matching}"
        )
        ids = [i.id for i in shown]
        if ids != self.order:
            self._rebuild(shown)
        else:
            for item in shown:
                if row_signature(item) != self.rows[item.id][0]:
                    self._fill_row(item)
        self._render_pager(matching)
        self._update_url()

    def _render_summary(self, by_state: Counter, total: int) -> None:
        self.summary.clear()
        with self.summary:
            ui.chip(f"all {total}", on_click=lambda: self._pick(None)).props(
                f"dense clickable {'outline' if self.state_filter else ''}"
            ).mark("summary-all")
            for state, number in sorted(by_state.items(), key=lambda kv: (state_rank(kv[0]), kv[0])):
                chip = ui.chip(f"{number} {state}", on_click=lambda s=state: self._pick(s))
                chip.props(f"dense clickable color={state_color(state)} text-color=white").mark(f"summary {state}")
                if state == self.state_filter:
                    chip.props("icon=filter_alt")

    def _pick(self, state: str | None) -> None:
        self.set_filter(state)

    def _rebuild(self, shown: list[Any]) -> None:
        self.table.clear()
        self.rows.clear()
        self.order = [i.id for i in shown]
        with self.table:
            if not shown:
                text = "No releases match the filters." if self.source.items else "No releases yet."
                if self.source.error is not None and self.source.as_of is None:
                    text = "The release list could not be loaded: Temporal unreachable."
                ui.label(text).classes("p-4 opacity-70").mark("no-releases")
            for item in shown:
                row = ui.row().classes("w-full items-center gap-3 px-3 py-2 border-b border-grey-3 no-wrap")
                self.rows[item.id] = ((), row, None)
                self._fill_row(item)

    def _fill_row(self, item: Any) -> None:
        row = self.rows[item.id][1]
        row.clear()
        row.mark(f"release-row {item.id}")
        with row:
            ui.link(item.id, release_path(item.id)).classes("font-mono w-72 truncate").mark(f"open {item.id}")
            with ui.element("div").classes("w-24 flex flex-col items-center gap-0"):
                StateBadge(item.state).classes("justify-center")
                status_chip(item.status)
            with ui.row().classes("items-center gap-2 no-wrap w-56"):
                counts = app_counts(item)
                ProgressBar(item.apps_done, item.apps_total, failed=failed_apps(counts), width="w-32")
                ui.label(f"{item.apps_done}/{item.apps_total}").classes("text-xs opacity-70")
            with ui.element("div").classes("grow min-w-0 overflow-hidden"):
                count_chips(counts, on_click=None)
            stamp = TimeAgoLabel(item.updated_at).classes("text-sm w-24 text-right whitespace-nowrap")
            link = temporal_workflow_url(self.settings.temporal_ui_url, self.settings.TEMPORAL_NAMESPACE, item.id)
            if link:
                ui.link("Temporal", link, new_tab=True).classes("text-xs").tooltip("open the workflow in Temporal's UI")
        self.rows[item.id] = (row_signature(item), row, stamp)

    def _render_pager(self, matching: int) -> None:
        self.pager.clear()
        pages = max(1, -(-matching // PAGE_SIZE))
        if pages > 1:
            with self.pager:
                ui.pagination(
                    1, pages, direction_links=True, value=self.page, on_change=lambda e: self.set_page(e.value)
                ).props("max-pages=9 boundary-numbers").mark("pager")

    def _update_url(self) -> None:
        params = {
            "state": self.state_filter,
            "status": self.status_filter,
            "sort": None if self.sort == "updated" else self.sort,
            "q": self.query,
            "page": None if self.page == 1 else self.page,
        }
        ui.navigate.history.replace(with_query("/", params))

    # ---- live updates ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Re-render when the shared list changed; refresh the 'ago' labels every few seconds."""
        self._ticks += 1
        if self._source_changed:
            self.render()
        elif self._ticks % 10 == 0:
            shown, _ = self.visible()
            for item in shown:
                stamp = self.rows[item.id][2]
                if stamp is not None:
                    stamp.tick()  # the row is rebuilt when its item's time changes
        self.freshness.update(self.source.as_of)
        self._banner()

    def _banner(self) -> None:
        error = self.source.error
        key = str(error) if error else None
        if key == self.banner_key:
            return
        self.banner_key = key
        self.banner.clear()
        if error is not None:
            when = f"as of {exact_time(self.source.as_of)}" if self.source.as_of else "no releases loaded yet"
            show_banner(self.banner, f"Temporal unreachable: {error}. Retrying; {when}.", kind="warning")
        if self.order == [] and not self.source.items:
            self._rebuild([])  # the empty-list text depends on the error
