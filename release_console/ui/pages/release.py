"""``/releases/{release_id}``: the live, lazy release tree with filters, search and a details panel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loguru import logger
from nicegui import APIRouter, ui

from ... import services
from ...domain.ids import EntityType, InvalidEntityId, parse_entity_id
from ...domain.states import CANONICAL_STATES
from ...readpath.errors import ReadPathError
from ..components.badges import StateBadge
from ..components.entity_panel import EntityPanel
from ..components.errors import ERROR_TITLES, UNEXPECTED, error_card, error_code
from ..components.export_buttons import export_buttons
from ..components.final_summary import final_summary_card
from ..components.freshness import FreshnessLabel
from ..components.progress import ProgressBar, failed_apps
from ..components.timeline_chart import TimelineChart
from ..components.tree import ReleaseTreeView
from ..components.url_params import entity_param, shown, state_param, text_param
from ..components.urls import release_path, temporal_workflow_url, with_query
from ..frame import add_banner, frame

router = APIRouter()

TICK_SECONDS = 0.5
"""How often the page's clocks move: the freshness chip every tick, "time in state" every TIME_TICKS ticks."""
TIME_TICKS = 10
RETRY_SECONDS = 2.0
"""How often a page showing "worker not responding" or "Temporal unreachable" tries again."""
MAX_SEARCH_RESULTS = 20
MAX_QUERY_LENGTH = 140
CLOSED_PROBLEMS = {"failed", "terminated", "canceled", "timed_out"}


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
            mirror = await services.running().mirrors.get(release_id)
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
            node_id, node_note = None, f"Ignored node “{shown(node_id)}”: it is not part of {release_id}."
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
            await services.running().mirrors.get(release_id)
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

    Live updates come from the shared mirror's listener, once per poll that changed something: the changes it hands
    over are patched into the rows they concern (the changed entities and their ancestors, whose roll-ups moved),
    the header and the details panel. A reload (the tree re-read) or a status change (stale, closed, deleted) arrives
    as ``[]`` and takes the full path: rebuild or re-check every rendered row, and the banner. The one timer only
    moves clocks ("updated 3 s ago", "for 5 min").
    """

    def __init__(
        self, mirror: Any, banner: ui.column, *, node: str | None, state: str | None, query: str | None
    ) -> None:
        self.mirror = mirror
        self.banner = banner
        self.settings = services.running().settings
        self.state_filter = state
        self.query = text_param(query, MAX_QUERY_LENGTH)
        self.seen_version: int | None = None
        """The mirror version the page shows: every change up to it is drawn."""
        self.banner_key: tuple = ()
        self._shown_error: object = None
        self._ticks = 0
        self._header()
        self.timeline = TimelineChart(mirror)  # burn-up chart from the shared timeline feed (issue 10, item 3)
        self._toolbar()
        with ui.row().classes("w-full items-start gap-4 no-wrap max-md:flex-wrap"):
            with ui.card().classes("grow min-w-0 overflow-x-auto"):
                self.tree = ReleaseTreeView(
                    lambda: self.mirror.tree,
                    on_select=self.select,
                    state_filter=self.state_filter,
                    on_chip=self.chip_filter,
                )
            with ui.column().classes("w-96 max-md:w-full shrink-0"):
                self.panel = EntityPanel(on_select=self.select)
        self.tree.selected = node if node else None
        self.tree.build()
        self.panel.show(self.mirror.tree, self.tree.selected)
        self._search(self.query)
        self._apply()
        self._update_banner()
        ui.timer(TICK_SECONDS, self._tick)  # clocks only: the freshness chip, "time in state"
        client = ui.context.client
        # Subscribed with no await since the tree was drawn: no poll can slip in between.
        remove = mirror.add_listener(lambda _mirror, changes: self._on_mirror_change(client, changes))
        client.on_delete(remove)

    def _on_mirror_change(self, client: Any, changes: Sequence[Any]) -> None:
        """Pushed by the shared mirror right after a poll applied changes (``changes``: records with ``.id``,
        ``.state``, ``.version``, ``.updated_at``, already applied to ``mirror.tree``), or with ``[]`` when it re-read
        the tree or its status or freshness changed (the release closed or was deleted, Temporal or the worker
        stopped answering): draw it now. NiceGUI sends what one call changed in one websocket message, so a burst of
        changes from one poll is one update."""
        if client.is_deleted:
            return
        with client:
            if changes and self._follows(changes):
                self._apply_changes(changes)
            elif self.mirror.version != self.seen_version or not self.tree.current:
                self._apply()
            self._update_banner()

    def _follows(self, changes: Sequence[Any]) -> bool:
        """True when ``changes`` continue what the page shows: same tree, nothing skipped. Versions have no gaps (a
        batch is never empty); a gap means a poll applied changes it could not announce (it failed half-way), so
        the page takes the full path instead."""
        if not self.tree.current or self.seen_version is None:
            return False
        return min(c.version for c in changes) <= self.seen_version + 1

    # ---- layout --------------------------------------------------------------------------------
    def _header(self) -> None:
        tree = self.mirror.tree
        root = tree.root
        done, total = tree.progress()
        with ui.row().classes("w-full items-center gap-3"):
            ui.label(root.id).classes("text-2xl font-bold font-mono break-all").mark("release-title")
            self.state_badge = StateBadge(root.state).classes("text-base").mark("release-state")
            self.bar = ProgressBar(done, total, failed=self._failed(), width="w-64")
            self.progress_label = ui.label(self._progress_text()).mark("release-progress")
            ui.space()
            self.freshness = FreshnessLabel(self.settings.MIRROR_POLL_SECONDS)
            export_buttons(root.id)  # CSV / JSON of the whole release, streamed (issue 10, item 6)
            link = temporal_workflow_url(self.settings.temporal_ui_url, self.settings.TEMPORAL_NAMESPACE, root.id)
            if link:
                ui.link("Open in Temporal", link, new_tab=True).mark("temporal-link")

    def _toolbar(self) -> None:
        tree = self.mirror.tree
        present = {s for by_state in tree.root.counts.values() for s in by_state} | {tree.root.state}
        options = {None: "all states", **{s: s for s in sorted(present | set(CANONICAL_STATES))}}
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

    # ---- actions -------------------------------------------------------------------------------
    def select(self, entity_id: str) -> None:
        """Select a node: reveal it in the tree, show its details, keep it in the URL."""
        self.tree.reveal(entity_id)
        self.panel.show(self.mirror.tree, entity_id)
        self.tree.selected = entity_id
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
        with self.tree.box:  # the clicked chip is gone once the tree is rebuilt: act in the tree's (kept) context
            self.set_filter(state)
            if entity_id != self.mirror.tree.root.id:
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

    # ---- live updates --------------------------------------------------------------------------
    def _tick(self) -> None:
        """Move the clocks: the freshness chip (age of the data, or "final state"), and every TIME_TICKS ticks the
        rows' "time in state". The mirror's listener keeps the page alive and draws every change."""
        self._ticks += 1
        if self.mirror.status in (None, "running"):
            self.freshness.update(self.mirror.as_of, version=self.mirror.version)
        else:
            self.freshness.final(self.mirror.status, version=self.mirror.version, as_of=self.mirror.as_of)
        if self._ticks % TIME_TICKS == 0:
            self.tree.refresh_times()
        if self.mirror.error is not self._shown_error:  # a new error replacing an old one is not announced
            self._update_banner()

    def _apply_changes(self, changes: Sequence[Any]) -> None:
        """Draw one poll's changes: the rows they concern, the header (the release's roll-ups moved), and the panel
        when the selected node is among them."""
        self.seen_version = self.mirror.version
        touched = self.tree.apply_changes(changes)
        self._header_update()
        if self.panel.entity_id in touched:
            self.panel.refresh(self.mirror.tree)

    def _apply(self) -> None:
        """The full path (first draw, reload, status change, or changes the page could not follow): the header,
        every rendered row (the tree is rebuilt when the mirror replaced it) and the panel."""
        self.seen_version = self.mirror.version
        self._header_update()
        self.tree.refresh()
        self.panel.refresh(self.mirror.tree)

    def _header_update(self) -> None:
        done, total = self.mirror.tree.progress()
        self.state_badge.set_state(self.mirror.tree.root.state)
        self.bar.set_progress(done, total, self._failed())
        self.progress_label.set_text(self._progress_text())

    def _failed(self) -> int:
        return failed_apps(self.mirror.tree.root.counts.get(EntityType.APP.value, {}))

    def _progress_text(self) -> str:
        tree = self.mirror.tree
        done, total = tree.progress()
        return f"{done}/{total} apps done ({tree.percent_done()}%)"

    def _update_banner(self) -> None:
        error = self.mirror.error
        status = self.mirror.status
        partial = bool(getattr(self.mirror, "partial", False))
        self._shown_error = error
        key = (status, str(error) if error else None, partial)
        if key == self.banner_key:
            return
        self.banner_key = key
        banner = self.banner
        banner.clear()
        if status in CLOSED_PROBLEMS:
            add_banner(banner, f"The release workflow {status}; showing its last known state.", kind="negative")
            self._final_summary(status)
        elif status == "deleted":
            add_banner(banner, "The release workflow no longer exists in Temporal; showing its last known state.")
        elif status not in (None, "running", "continued_as_new"):
            add_banner(banner, f"The release workflow has {status}; its state no longer changes.", kind="info")
        if partial:
            add_banner(banner, "Only the release's final summary could be read; the tree is incomplete.")
        if error is not None:
            cause = ERROR_TITLES.get(error_code(error), "read error")
            add_banner(banner, f"Cannot refresh ({cause}): {error}. Showing the data as of the time shown; retrying.")

    def _final_summary(self, status: str) -> None:
        summary = self.mirror.final_summary
        if not isinstance(summary, dict) or not summary:
            return
        with self.banner, ui.element("div").classes("w-full px-4"):
            final_summary_card(summary, status)
