"""The lazy release tree: rows are rendered only for expanded nodes, children a page at a time.

The browser never receives the whole hierarchy: a node's children are loaded from the mirror's in-memory
tree when it is expanded, ``page_size`` at a time with a "show more" button. Branches with failures sort
first and open on their own; settled branches stay collapsed. ``apply_changes()`` patches the rendered rows of the
entities a mirror poll changed and of their ancestors (whose roll-ups moved); ``refresh()`` re-checks every rendered
row (or rebuilds when the mirror replaced its tree); ``refresh_times()`` only advances the "time in state" clocks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Protocol

from nicegui import ui

from ...domain.ids import EntityType
from ...domain.states import StateKind
from ...domain.tree import Entity, ReleaseTree
from ..theme import KIND_ORDER, state_rank
from .badges import StateBadge, count_chips
from .progress import ProgressBar, failed_apps
from .time_ago import TimeAgoLabel, exact_time, time_ago

PAGE_SIZE = 100
AUTO_EXPAND_PER_LEVEL = 3
MAX_RENDERED_ROWS = 1500
TYPE_ICONS: dict[EntityType, str] = {
    EntityType.RELEASE: "rocket_launch",
    EntityType.WAVE: "waves",
    EntityType.CLUSTER: "hub",
    EntityType.BUNDLE: "inventory_2",
    EntityType.APP: "apps",
}
FAILED_RANK = KIND_ORDER.index(StateKind.FAILED)
ACTIVE_RANK = KIND_ORDER.index(StateKind.ACTIVE)


def branch_rank(entity: Entity) -> int:
    """The most urgent state kind in a node and everything below it (0 = some failure)."""
    ranks = [state_rank(entity.state)]
    ranks.extend(state_rank(s) for by_state in entity.counts.values() for s, n in by_state.items() if n)
    return min(ranks)


def matches_filter(entity: Entity, state: str | None) -> bool:
    """True if the node is in ``state`` or has a descendant in it."""
    return state is None or entity.state == state or any(by_state.get(state) for by_state in entity.counts.values())


def app_counts(entity: Entity) -> dict[str, int]:
    """Apps below a node by state (the app's own state for an app)."""
    if entity.type is EntityType.APP:
        return {}
    return dict(entity.counts.get(EntityType.APP.value, {}))


def signature(entity: Entity) -> tuple:
    """What a rendered row shows; the row is patched only when this changes."""
    return entity.state, entity.updated_at, tuple(sorted(app_counts(entity).items()))


class ChangeLike(Protocol):
    """What the tree view reads of a mirror's change records (``.id``; they also carry state, version, time)."""

    @property
    def id(self) -> str: ...


def touched(tree: ReleaseTree, changes: Iterable[ChangeLike]) -> set[str]:
    """The changed entities and all their ancestors (whose roll-ups moved), as ids; ids not in the tree are skipped.

    Each chain stops at the first node already collected (its ancestors are in too): O(changes + nodes touched).
    """
    ids: set[str] = set()
    entities = tree.entities
    for change in changes:
        entity = entities.get(change.id)
        while entity is not None and entity.id not in ids:
            ids.add(entity.id)
            entity = entities.get(entity.parent) if entity.parent is not None else None
    return ids


@dataclass(eq=False)
class NodeRow:
    """The rendered elements of one node."""

    entity_id: str
    header: ui.row
    badge: StateBadge
    time_label: TimeAgoLabel
    """"for 3 min", the last transition's exact time on hover."""
    counts_box: ui.row
    children_box: ui.column | None
    """None for a node without children."""
    expander: ui.button | None = None
    bar: ProgressBar | None = None
    bar_label: ui.label | None = None
    expanded: bool = False
    child_ids: list[str] = field(default_factory=list)
    shown: int = 0
    more_button: ui.button | None = None
    signature: tuple = ()


class ReleaseTreeView:
    """An expandable, paged, failure-first view of a ReleaseTree."""

    def __init__(
        self,
        get_tree: Callable[[], ReleaseTree],
        *,
        on_select: Callable[[str], None],
        state_filter: str | None = None,
        page_size: int = PAGE_SIZE,
        on_chip: Callable[[str, str], None] | None = None,
    ) -> None:
        self.get_tree = get_tree
        self.on_select = on_select
        self.on_chip = on_chip
        """Called with (entity id, state) when a node's count chip is clicked: filter that subtree to the state."""
        self.state_filter = state_filter
        self.page_size = page_size
        self.rows: dict[str, NodeRow] = {}
        self.selected: str | None = None
        self._tree: ReleaseTree | None = None
        self.box = ui.column().classes("w-full gap-0").mark("release-tree")

    # ---- building ------------------------------------------------------------------------------
    def build(self) -> None:
        """(Re)render from the root: root expanded, troubled branches opened, settled ones closed."""
        self._tree = self.get_tree()
        self.rows.clear()
        self.box.clear()
        root = self._tree.root
        self._render_row(root, self.box)
        self._auto_expand(root.id, budget=[24])
        if self.selected and self.selected in self._tree.entities:
            self.reveal(self.selected, notify=False)

    def _auto_expand(self, entity_id: str, budget: list[int]) -> None:
        self.expand(entity_id)
        row = self.rows[entity_id]
        tree = self.get_tree()
        candidates = [tree.entities[c] for c in row.child_ids[: row.shown]]
        candidates = [e for e in candidates if e.children]
        failing = [e for e in candidates if branch_rank(e) == FAILED_RANK]
        picked = failing[:AUTO_EXPAND_PER_LEVEL]
        if self.state_filter is not None:
            picked = candidates[:AUTO_EXPAND_PER_LEVEL]
        elif not picked:
            picked = [e for e in candidates if branch_rank(e) == ACTIVE_RANK][:1]
        for child in picked:
            if budget[0] <= 0 or len(self.rows) >= MAX_RENDERED_ROWS:
                return
            budget[0] -= 1
            self._auto_expand(child.id, budget)

    def _render_row(self, entity: Entity, parent_box: ui.column) -> NodeRow:
        """One node: a header row, plus (for nodes with children) a hidden box for them. Leaves — most rows of a
        big release — get no children box and no spacer element, which keeps a page of 100 apps light."""
        entity_id = entity.id
        with parent_box, (ui.column().classes("w-full gap-0") if entity.children else contextlib.nullcontext()):
            with ui.row().classes("items-center gap-2 no-wrap w-full px-1 rounded").mark(f"node {entity_id}") as header:
                expander = None
                if entity.children:
                    expander = ui.button(icon="chevron_right", on_click=lambda: self.toggle(entity_id))
                    expander.props("flat round dense size=sm").mark(f"toggle {entity_id}")
                ui.icon(TYPE_ICONS[entity.type]).classes("opacity-60" if entity.children else "opacity-60 ml-10")
                label = ui.label(entity_id).classes("font-mono text-sm cursor-pointer hover:underline")
                label.on("click", lambda: self.select(entity_id)).mark(f"select {entity_id}")
                badge = StateBadge(entity.state)
                time_label = TimeAgoLabel(entity.updated_at, text=_time_in_state, tip=_last_transition, nested_tip=True)
                time_label.classes("text-xs opacity-60 whitespace-nowrap")
                time_label.tip.mark(f"since {entity_id}")
                counts_box = ui.row().classes("gap-1 no-wrap")
                bar = bar_label = None
                if entity.type is EntityType.WAVE:
                    done, total, failed = self._progress(entity)
                    bar = ProgressBar(done, total, failed=failed, width="w-32")
                    bar_label = ui.label(f"{done}/{total}").classes("text-xs opacity-70")
            children_box = None
            if entity.children:
                children_box = ui.column().classes("self-stretch gap-0 pl-5 ml-4 border-l border-grey-4")
                children_box.set_visibility(False)
        row = NodeRow(entity_id, header, badge, time_label, counts_box, children_box, expander, bar, bar_label)
        self._fill_counts(row, entity)
        row.signature = signature(entity)
        if entity_id == self.selected:
            header.classes("bg-blue-2 text-black")
        self.rows[entity_id] = row
        return row

    def _fill_counts(self, row: NodeRow, entity: Entity) -> None:
        row.counts_box.clear()
        counts = app_counts(entity)
        if counts:
            on_chip = self.on_chip
            click = None if on_chip is None else (lambda state, e=entity.id: on_chip(e, state))
            with row.counts_box:
                count_chips(counts, on_click=click, marker=f"chip {entity.id}")

    # ---- expanding -----------------------------------------------------------------------------
    def toggle(self, entity_id: str) -> None:
        """Expand a collapsed node or collapse an expanded one."""
        row = self.rows.get(entity_id)
        if row is None:
            return
        if row.expanded:
            self.collapse(entity_id)
        else:
            self.expand(entity_id)

    def expand(self, entity_id: str) -> None:
        """Show the first page of a node's children (failure-first, filtered)."""
        row = self.rows.get(entity_id)
        if row is None or row.expanded or row.children_box is None:
            return
        tree = self.get_tree()
        kids = tree.children_of(entity_id)
        if self.state_filter is not None:
            kids = [k for k in kids if matches_filter(k, self.state_filter)]
        kids.sort(key=branch_rank)
        row.child_ids = [k.id for k in kids]
        row.shown = 0
        row.expanded = True
        if row.expander is not None:
            row.expander.props("icon=expand_more")
        row.children_box.clear()
        row.more_button = None
        if not row.child_ids:
            with row.children_box:
                ui.label("no children match the filter").classes("text-xs opacity-60 px-2")
        self.show_more(entity_id)
        row.children_box.set_visibility(True)

    def show_more(self, entity_id: str) -> None:
        """Render the next page of a node's children."""
        row = self.rows[entity_id]
        box = row.children_box
        if box is None:
            return
        tree = self.get_tree()
        if row.more_button is not None:
            row.more_button.delete()
            row.more_button = None
        stop = min(len(row.child_ids), row.shown + self.page_size)
        for child_id in row.child_ids[row.shown : stop]:
            if child_id not in self.rows and child_id in tree.entities:
                self._render_row(tree.entities[child_id], box)
        row.shown = stop
        remaining = len(row.child_ids) - stop
        if remaining > 0:
            with box:
                text = f"Show {min(remaining, self.page_size)} more ({remaining} of {len(row.child_ids)} not shown)"
                row.more_button = ui.button(text, on_click=lambda: self.show_more(entity_id))
                row.more_button.props("flat dense no-caps size=sm").mark(f"more {entity_id}")

    def collapse(self, entity_id: str) -> None:
        """Hide a node's children and drop their rows (they are rebuilt when expanded again)."""
        row = self.rows.get(entity_id)
        if row is None or not row.expanded or row.children_box is None:
            return
        self._forget_descendants(row)
        row.children_box.clear()
        row.children_box.set_visibility(False)
        row.expanded = False
        row.more_button = None
        if row.expander is not None:
            row.expander.props("icon=chevron_right")

    def _forget_descendants(self, row: NodeRow) -> None:
        for child_id in row.child_ids:
            child = self.rows.pop(child_id, None)
            if child is not None:
                self._forget_descendants(child)
        row.child_ids = []
        row.shown = 0

    def expand_all(self) -> int:
        """Expand every rendered node level by level until MAX_RENDERED_ROWS rows; returns rows rendered."""
        frontier = [r.entity_id for r in self.rows.values() if r.expander is not None]
        while frontier and len(self.rows) < MAX_RENDERED_ROWS:
            next_frontier: list[str] = []
            for entity_id in frontier:
                if len(self.rows) >= MAX_RENDERED_ROWS:
                    break
                self.expand(entity_id)
                row = self.rows[entity_id]
                shown = row.child_ids[: row.shown]
                next_frontier.extend(c for c in shown if c in self.rows and self.rows[c].expander is not None)
            frontier = next_frontier
        return len(self.rows)

    def collapse_all(self) -> None:
        """Collapse everything below the release."""
        root_id = self._root_id()
        root = self.rows.get(root_id) if root_id else None
        if root is None:
            return
        for child_id in list(root.child_ids[: root.shown]):
            self.collapse(child_id)

    def _root_id(self) -> str | None:
        return self._tree.root_id if self._tree is not None else None

    # ---- selecting -----------------------------------------------------------------------------
    def select(self, entity_id: str) -> None:
        """Highlight a node and tell the page."""
        self._highlight(entity_id)
        self.on_select(entity_id)

    def _highlight(self, entity_id: str | None) -> None:
        if self.selected and self.selected in self.rows:
            self.rows[self.selected].header.classes(remove="bg-blue-2 text-black")
        self.selected = entity_id
        if entity_id and entity_id in self.rows:
            self.rows[entity_id].header.classes("bg-blue-2 text-black")

    def reveal(self, entity_id: str, *, notify: bool = True) -> bool:
        """Expand the path to a node, render it even if beyond the loaded pages, and highlight it."""
        tree = self.get_tree()
        entity = tree.entities.get(entity_id)
        if entity is None:
            return False
        path = [*(a.id for a in reversed(list(tree.ancestors(entity)))), entity_id]
        for parent_id, child_id in pairwise(path):
            row = self.rows.get(parent_id)
            if row is None or row.children_box is None:
                return False
            self.expand(parent_id)
            if child_id not in self.rows:
                if child_id not in row.child_ids:
                    if notify:
                        ui.notify(f"{entity_id} is hidden by the state filter", type="info")
                    return False
                self._render_row(tree.entities[child_id], row.children_box)
        self._highlight(entity_id)
        return True

    # ---- live updates --------------------------------------------------------------------------
    @property
    def current(self) -> bool:
        """True while the rendered rows belong to the mirror's tree (False once it was replaced by a reload)."""
        return self._tree is not None and self.get_tree() is self._tree

    def apply_changes(self, changes: Iterable[ChangeLike]) -> set[str]:
        """Patch the rendered rows of the changed entities and of their ancestors; return those entities' ids.

        The mirror's tree has the changes applied already: rows read the entities' current state and roll-ups.
        Only for the tree that is rendered (see ``current``; after a reload, ``refresh()`` rebuilds).
        """
        tree = self.get_tree()
        ids = touched(tree, changes)
        rows = self.rows
        rendered = [i for i in ids if i in rows] if len(ids) <= len(rows) else [i for i in rows if i in ids]
        for entity_id in rendered:
            self._patch(rows[entity_id], tree.entities[entity_id])
        return ids

    def refresh(self) -> None:
        """Re-check every rendered row; rebuild if the mirror replaced its tree (the full path, after a reload)."""
        tree = self.get_tree()
        if tree is not self._tree:
            self.build()
            return
        for entity_id, row in list(self.rows.items()):
            entity = tree.entities.get(entity_id)
            if entity is not None:
                self._patch(row, entity)

    def _patch(self, row: NodeRow, entity: Entity) -> None:
        """Bring one rendered row up to date with its entity (nothing is sent when what it shows did not change)."""
        sig = signature(entity)
        if sig == row.signature:
            return
        row.signature = sig
        row.badge.set_state(entity.state)
        row.time_label.set_time(entity.updated_at)
        self._fill_counts(row, entity)
        if row.bar is not None and row.bar_label is not None:
            done, total, failed = self._progress(entity)
            row.bar.set_progress(done, total, failed)
            row.bar_label.set_text(f"{done}/{total}")

    def _progress(self, entity: Entity) -> tuple[int, int, int]:
        """(apps done, apps total, apps failed) below a node."""
        done, total = self.get_tree().progress(entity.id)
        return done, total, failed_apps(app_counts(entity))

    def refresh_times(self) -> None:
        """Advance the "time in state" clocks of rendered rows (a clock refresh: it reads no entity)."""
        for row in self.rows.values():
            row.time_label.tick()


def _time_in_state(updated_at: datetime | str | None) -> str:
    text = time_ago(updated_at)
    return "" if text == "—" else f"for {text.removesuffix(' ago')}" if text != "just now" else "just now"


def _last_transition(updated_at: datetime | str | None) -> str:
    return f"last transition {exact_time(updated_at)}"
