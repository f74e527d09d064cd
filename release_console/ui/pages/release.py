"""``/releases/{release_id}``: the live, lazy release tree with filters, search and a details panel."""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger
from nicegui import APIRouter, ui

from ... import services
from ...core.links import release_path, temporal_workflow_url, with_query
from ...domain.ids import EntityType, InvalidEntityId, parse_entity_id
from ...domain.states import CANONICAL_STATES
from ...readpath.errors import ReadPathError
from ...readpath.mirror import ReleaseMirror
from ..auth import current_username
from ..components.announcer import Announcer
from ..components.entity_panel import EntityPanel
from ..components.errors import UNEXPECTED, error_card
from ..components.export_buttons import export_buttons
from ..components.final_summary import final_summary_card
from ..components.freshness import Freshness
from ..components.live_banner import LiveBanner
from ..components.release_alerts import ReleaseAlerts
from ..components.release_status import ReleaseStatus
from ..components.timeline_chart import TimelineChart
from ..components.tree import ReleaseTreeView
from ..components.url_params import entity_param, shown, state_param, text_param
from ..components.watch_toggle import WatchToggle
from ..frame import add_banner, frame
from ..live.hub import hub
from ..live.release_model import CLOSED_PROBLEMS, LiveRelease

router = APIRouter()

RETRY_SECONDS = 2.0
"""How often a page showing "worker not responding" or "Temporal unreachable" tries again."""
MAX_SEARCH_RESULTS = 20
MAX_QUERY_LENGTH = 140


@router.page("/releases/{release_id:path}")  # ":path": an id hiding a "/" gets the malformed-id card too
async def release_page(
    release_id: str, node: str | None = None, state: str | None = None, q: str | None = None
) -> None:
    """One release: header with progress, toolbar, tree and side panel, kept live by the mirror's listener."""
    with frame(release_id[:80], outage_banner=False) as page:  # the page's own banner names outages
        try:
            parse_entity_id(release_id, expected=EntityType.RELEASE)
        except InvalidEntityId as exc:
            error_card("invalid_id", str(exc))
            return
        spinner = ui.spinner(size="lg").classes("mx-auto mt-8")
        await ui.context.client.connected()
        try:
            mirror = await services.running().mirrors.get(release_id, user=current_username())
        except ReadPathError as exc:  # expected problems: a code and a message safe to show
            spinner.delete()
            error_card(exc.code, str(exc))
            if exc.status == 503:  # Temporal or the worker may come back: try again, and draw the page when it does
                retry_until_loaded(release_id)
            return
        except Exception:  # a bug: logged with its traceback, never shown
            logger.exception("release page {} failed to load", release_id)
            spinner.delete()
            error_card(UNEXPECTED, f"The console failed to load {release_id}; the error has been logged.")
            return
        spinner.delete()
        with page.banner:
            notes = ui.column().classes("w-full gap-1").mark("url-notes")
            status = ui.column().classes("w-full gap-1")
        node_id, node_note = entity_param(node)
        if node_id is not None and node_id not in mirror.tree.entities:
            node_note = f"Ignored node “{shown(node_id)}”: it is not part of {release_id}."
            node_id = None
        state_filter, state_note = state_param(state)
        for note in (node_note, state_note):
            if note:
                add_banner(notes, note, kind="info")
        ReleaseView(mirror, status, node=node_id, state=state_filter, query=q)


def retry_until_loaded(release_id: str) -> None:
    """Every RETRY_SECONDS, ask the shared read path for the release again; reload the page once it answers.

    The registry remembers a failed load briefly, so many pages retrying the same release cost one Temporal call.
    """

    async def retry() -> None:
        try:
            await services.running().mirrors.get(release_id)  # the page's first try was charged, not its retries
        except ReadPathError:
            return
        except Exception:
            logger.exception("retrying release page {} failed", release_id)
            timer.cancel()
            return
        timer.cancel()
        ui.navigate.reload()

    timer = ui.timer(RETRY_SECONDS, retry)


class ReleaseView:
    """Everything on a release page after the mirror is loaded.

    The live parts (header status, freshness, banner, chart, tree rows, details panel) are drawn in the browser from
    the release's shared model (:class:`LiveRelease`): a change is worked out once for every tab and reaches them
    all in one message, with no work per tab here. What stays per tab is its shape: the filter, the search, which
    nodes are expanded, the selection, the URL. The shape is rebuilt only when the mirror replaced its tree, and the
    final summary drawn when the workflow closed.
    """

    def __init__(self, mirror: ReleaseMirror, banner: ui.column, *, node: str | None, state: str | None,
                 query: str | None) -> None:
        self.mirror = mirror
        self.banner = banner
        self.settings = services.running().settings
        self.client = ui.context.client
        self.live = hub().release(mirror)
        self.state_filter = state
        self.query = text_param(query, MAX_QUERY_LENGTH)
        seq = self.live.seq
        with banner:
            LiveBanner(self.live.channel, seq, self.live.meta)
            self.summary_box = ui.column().classes("w-full gap-1")
        self._header(seq)
        with ui.card().classes("w-full").mark("timeline-card"):
            ui.label("Progress over time").classes("text-sm font-bold")
            TimelineChart(self.live)
        self._toolbar()
        with ui.row().classes("w-full items-start gap-4 no-wrap max-md:flex-wrap"):
            with ui.card().classes("grow min-w-0 overflow-x-auto"):
                self.tree = ReleaseTreeView(
                    self.live, on_select=self.select, state_filter=self.state_filter, on_chip=self.chip_filter
                )
            with ui.column().classes("w-96 max-md:w-full shrink-0"):
                self.panel = EntityPanel(self.live, on_select=self.select, on_chip=self.chip_filter)
        Announcer(self.live)  # the page's aria-live region: failures and the workflow's end, said politely
        self.tree.selected = node if node else None
        self.tree.build()
        self.panel.show(self.tree.selected)
        self._search(self.query)
        self._final_summary()
        hub().tab(self.client).join(self.live.channel, seq)
        self.live.attach(self.client.id)
        remove = self.live.structure.add(self._on_structure)
        self.client.on_delete(lambda: self._leave(remove))

    def _leave(self, remove: Callable[[], None]) -> None:
        """The tab is gone: release what it watched on the shared model."""
        remove()
        self.tree.release()
        self.panel.release()
        self.live.detach(self.client.id)

    def _on_structure(self, _live: LiveRelease) -> None:
        """The mirror replaced its tree, or the workflow's status changed: redraw the shape and the summary."""
        if self.client.is_deleted:
            return
        with self.client:
            self.tree.redraw()
            if self.panel.entity_id is not None and self.panel.entity_id not in self.live.tree.entities:
                self.panel.show(None)
            self._final_summary()

    # ---- layout --------------------------------------------------------------------------------------------------
    def _header(self, seq: int) -> None:
        root_id = self.mirror.tree.root.id
        with ui.row().classes("w-full items-center gap-3"):
            ui.label(root_id).classes("text-2xl font-bold font-mono break-all").mark("release-title")
            self.status = ReleaseStatus(self.live)
            self.alerts = ReleaseAlerts(self.live, watched=False)  # the tab's title and browser notifications
            ui.space()
            if self.settings.NOTIFICATIONS_ENABLED:
                WatchToggle(root_id, self.alerts)
            Freshness(self.live.channel, seq, self.live.meta)
            export_buttons(root_id)
            link = temporal_workflow_url(self.settings.temporal_ui_url, self.settings.TEMPORAL_NAMESPACE, root_id)
            if link:
                ui.link("Open in Temporal", link, new_tab=True).mark("temporal-link")

    def _toolbar(self) -> None:
        tree = self.mirror.tree
        present = tree.states_in_use()
        options: dict[str | None, str] = {None: "all states", **{s: s for s in sorted(present | set(CANONICAL_STATES))}}
        if self.state_filter and self.state_filter not in options:
            options[self.state_filter] = self.state_filter
        with ui.row().classes("w-full items-center gap-2"):
            ui.select(
                options, value=self.state_filter, label="Filter by state", on_change=lambda e: self.set_filter(e.value)
            ).classes("w-48")
            ui.input("Search entity id", value=self.query, on_change=lambda e: self._search(e.value or "")).props(
                "clearable dense debounce=300"
            ).classes("w-72").mark("search")
            ui.button("Expand all", icon="unfold_more", on_click=self._expand_all).props("flat no-caps").mark(
                "expand-all"
            )
            ui.button("Collapse all", icon="unfold_less", on_click=self.tree_collapse).props("flat no-caps").mark(
                "collapse-all"
            )
        self.results = ui.column().classes("w-full gap-0").mark("search-results")

    # ---- actions -------------------------------------------------------------------------------------------------
    def select(self, entity_id: str) -> None:
        """Select a node: reveal it in the tree, show its details, keep it in the URL."""
        self.tree.reveal(entity_id)
        self.panel.show(entity_id)
        self._update_url()

    def set_filter(self, state: str | None) -> None:
        """Show only nodes in ``state`` (or with a descendant in it)."""
        self.state_filter = state or None
        self.tree.state_filter = self.state_filter
        self.tree.build()
        self._update_url()

    def chip_filter(self, entity_id: str, state: str) -> None:
        """A node's count chip was clicked: filter to ``state`` and open that node's subtree (the root's: the page);
        the URL follows (``?node=…&state=…``)."""
        self.set_filter(state)
        if entity_id != self.mirror.tree.root_id:
            self.select(entity_id)
            self.tree.expand(entity_id)

    def tree_collapse(self) -> None:
        """Collapse everything below the release."""
        self.tree.collapse_all()

    def _expand_all(self) -> None:
        rows = self.tree.expand_all()
        ui.notify(f"{rows} rows shown; use the filter or search to narrow large releases", type="info")

    def _search(self, text: str) -> None:
        self.query = text_param(text, MAX_QUERY_LENGTH)
        self.results.clear()
        if self.query:
            needle = self.query.lower()
            hits = [e for e in self.mirror.tree.entities if needle in e.lower()]
            with self.results:
                ui.label(f"{len(hits)} match{'es' if len(hits) != 1 else ''} for “{self.query}”").classes("text-sm")
                with ui.row().classes("gap-1"):
                    for entity_id in hits[:MAX_SEARCH_RESULTS]:
                        ui.button(entity_id, on_click=lambda _, e=entity_id: self.select(e)).props(
                            "flat dense no-caps size=sm"
                        ).classes("font-mono").mark(f"hit {entity_id}")
                if len(hits) > MAX_SEARCH_RESULTS:
                    ui.label(f"… and {len(hits) - MAX_SEARCH_RESULTS} more; refine the search").classes("text-xs")
        self._update_url()

    def _update_url(self) -> None:
        params = {"node": self.tree.selected, "state": self.state_filter, "q": self.query}
        ui.navigate.history.replace(with_query(release_path(self.mirror.release_id), params))

    def _final_summary(self) -> None:
        """The closed workflow's final summary, under the banner (drawn once when it closed)."""
        self.summary_box.clear()
        summary = self.mirror.final_summary
        if self.mirror.status not in CLOSED_PROBLEMS or not isinstance(summary, dict) or not summary:
            return
        with self.summary_box, ui.element("div").classes("w-full px-4"):
            final_summary_card(summary, self.mirror.status)
