"""The lazy release tree: which nodes one tab shows (expanded, a page of children at a time), drawn in the browser.

The server keeps, per tab, only the shape: which nodes are expanded, how many of their children are shown, the
selection. It hands the browser the visible rows in order (``rows``) and the views of their entities (``views``:
the shared view objects of :class:`LiveRelease`, the same for every tab); release_tree.js draws them and the live
store keeps them current. The browser never receives the whole hierarchy. Branches with failures sort first and
open on their own; settled branches stay collapsed.

Row shapes in ``rows``: a node ``[id, depth, has_children, expanded, position, siblings]`` (its 1-based place among
all the parent's children, for aria-posinset/aria-setsize); a "show more" row ``["", depth, "more", parent_id,
next_count, not_shown, children]``; an empty filter result ``["", depth, "none", parent_id]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from nicegui import ui
from nicegui.events import GenericEventArguments

from ...domain.states import StateKind
from ...domain.tree import Entity, ReleaseTree
from ..live.element import LiveElement, now_ms
from ..live.release_model import LiveRelease
from ..theme import KIND_ORDER, state_rank

PAGE_SIZE = 100
AUTO_EXPAND_PER_LEVEL = 3
AUTO_EXPAND_BUDGET = 24
MAX_RENDERED_ROWS = 1500
FAILED_RANK = KIND_ORDER.index(StateKind.FAILED)
ACTIVE_RANK = KIND_ORDER.index(StateKind.ACTIVE)


def branch_rank(entity: Entity) -> int:
    """The most urgent state kind in a node and everything below it (0 = some failure; an unreadable node ranks
    with failures, so it is shown first)."""
    if entity.state is None:
        return FAILED_RANK
    ranks = [state_rank(entity.state)]
    ranks.extend(state_rank(s) for by_state in entity.counts.values() for s, n in by_state.items() if n)
    return min(ranks)


def _row_id(row: list[str | int]) -> str:
    """The entity a row shows ("" for the "none" and "more" rows); always a string."""
    return row[0] if isinstance(row[0], str) else ""


def matches_filter(entity: Entity, state: str | None) -> bool:
    """True if the node is in ``state`` or has a descendant in it."""
    return state is None or entity.state == state or any(by_state.get(state) for by_state in entity.counts.values())


@dataclass(eq=False)
class Expansion:
    """One expanded node: its children in display order (filtered, failures first) and how many are shown."""

    child_ids: list[str]
    shown: int = 0
    revealed: list[str] = field(default_factory=list)
    """Children beyond the shown page that were revealed (a selected node deep in a big bundle)."""


class TreeShape:
    """Which nodes one tab shows: expanded nodes, pages of children, the filter; the visible rows in order.

    Pure bookkeeping over a ReleaseTree (no page): :class:`ReleaseTreeView` draws it.
    """

    def __init__(self, tree: Callable[[], ReleaseTree], *, state_filter: str | None = None,
                 page_size: int = PAGE_SIZE) -> None:
        self.get_tree = tree
        self.state_filter = state_filter
        self.page_size = page_size
        self.expanded: dict[str, Expansion] = {}

    @property
    def tree(self) -> ReleaseTree:
        return self.get_tree()

    def reset(self, selected: str | None = None) -> None:
        """From the root: root expanded, troubled branches opened, settled ones closed; ``selected`` revealed."""
        self.expanded.clear()
        self._auto_expand(self.tree.root.id, [AUTO_EXPAND_BUDGET])
        if selected is not None and selected in self.tree.entities:
            self.reveal(selected)

    def _auto_expand(self, entity_id: str, budget: list[int]) -> None:
        self.expand(entity_id)
        page = self.expanded.get(entity_id)
        if page is None:
            return
        entities = self.tree.entities
        candidates = [entities[c] for c in page.child_ids[: page.shown] if entities[c].children]
        picked = [e for e in candidates if branch_rank(e) == FAILED_RANK][:AUTO_EXPAND_PER_LEVEL]
        if self.state_filter is not None:
            picked = candidates[:AUTO_EXPAND_PER_LEVEL]
        elif not picked:
            picked = [e for e in candidates if branch_rank(e) == ACTIVE_RANK][:1]
        for child in picked:
            if budget[0] <= 0 or self.row_count() >= MAX_RENDERED_ROWS:
                return
            budget[0] -= 1
            self._auto_expand(child.id, budget)

    def row_count(self) -> int:
        """How many node rows are visible."""
        return 1 + sum(min(len(p.child_ids), p.shown) + len(p.revealed) for p in self.expanded.values())

    def visible(self, entity_id: str) -> bool:
        """True for the root and for nodes whose parent is expanded with the node on its shown page."""
        entity = self.tree.entities[entity_id]
        if entity.parent is None:
            return True
        page = self.expanded.get(entity.parent)
        return page is not None and (entity_id in page.child_ids[: page.shown] or entity_id in page.revealed)

    def expand(self, entity_id: str) -> bool:
        """Show the first page of a visible node's children (failure-first, filtered); False if nothing changed."""
        entity = self.tree.entities.get(entity_id)
        if entity is None or not entity.children or entity_id in self.expanded or not self.visible(entity_id):
            return False
        kids = self.tree.children_of(entity_id)
        if self.state_filter is not None:
            kids = [k for k in kids if matches_filter(k, self.state_filter)]
        kids.sort(key=branch_rank)
        self.expanded[entity_id] = Expansion([k.id for k in kids], min(len(kids), self.page_size))
        return True

    def show_more(self, entity_id: str) -> bool:
        """Show the next page of a node's children; False if there was none."""
        page = self.expanded.get(entity_id)
        if page is None or page.shown >= len(page.child_ids):
            return False
        page.shown = min(len(page.child_ids), page.shown + self.page_size)
        page.revealed = [c for c in page.revealed if c not in page.child_ids[: page.shown]]
        return True

    def collapse(self, entity_id: str) -> bool:
        """Hide a node's children (their shape is forgotten: they open as new when expanded again)."""
        if self.expanded.pop(entity_id, None) is None:
            return False
        entities = self.tree.entities
        for expanded_id in list(self.expanded):
            node = entities.get(expanded_id)
            while node is not None and node.parent is not None:
                if node.parent == entity_id:
                    self.expanded.pop(expanded_id, None)
                    break
                node = entities.get(node.parent)
        return True

    def expand_all(self) -> None:
        """Expand every visible node level by level until MAX_RENDERED_ROWS rows."""
        entities = self.tree.entities
        frontier = [_row_id(row) for row in self.rows() if _row_id(row) and row[2] and not row[3]]
        while frontier and self.row_count() < MAX_RENDERED_ROWS:
            next_frontier: list[str] = []
            for entity_id in frontier:
                if self.row_count() >= MAX_RENDERED_ROWS:
                    break
                self.expand(entity_id)
                page = self.expanded.get(entity_id)
                if page is not None:
                    next_frontier.extend(c for c in page.child_ids[: page.shown] if entities[c].children)
            frontier = next_frontier

    def collapse_all(self) -> None:
        """Collapse everything below the release."""
        root = self.tree.root_id
        self.expanded = {root: self.expanded[root]} if root in self.expanded else {}

    def reveal(self, entity_id: str) -> bool:
        """Expand the path to a node and show it even beyond the loaded pages; False if the filter hides it."""
        tree = self.tree
        entity = tree.entities.get(entity_id)
        if entity is None:
            return False
        path = [*(a.id for a in reversed(list(tree.ancestors(entity)))), entity_id]
        for parent_id, child_id in pairwise(path):
            self.expand(parent_id)
            page = self.expanded.get(parent_id)
            if page is None or child_id not in page.child_ids:
                return False
            if child_id not in page.child_ids[: page.shown] and child_id not in page.revealed:
                page.revealed.append(child_id)
        return True

    def rows(self) -> list[list[str | int]]:
        """The visible rows in order (see the module docstring)."""
        rows: list[list[str | int]] = []
        entities = self.tree.entities

        def visit(entity_id: str, depth: int, position: int, siblings: int) -> None:
            entity = entities[entity_id]
            page = self.expanded.get(entity_id)
            rows.append([entity_id, depth, 1 if entity.children else 0, 1 if page else 0, position, siblings])
            if page is None:
                return
            if not page.child_ids:
                rows.append(["", depth + 1, "none", entity_id])
            for index, child_id in enumerate(page.child_ids[: page.shown]):
                visit(child_id, depth + 1, index + 1, len(page.child_ids))
            for child_id in page.revealed:  # beyond the page: its place among all the children (few are revealed)
                visit(child_id, depth + 1, page.child_ids.index(child_id) + 1, len(page.child_ids))
            left = len(page.child_ids) - page.shown
            if left > 0:
                rows.append(["", depth + 1, "more", entity_id, min(left, self.page_size), left, len(page.child_ids)])

        visit(self.tree.root.id, 0, 1, 1)
        return rows


class ReleaseTreeView(LiveElement, component="release_tree.js"):
    """An expandable, paged, failure-first view of a release, for one tab (its shape, drawn in the browser)."""

    def __init__(
        self,
        live: LiveRelease,
        *,
        on_select: Callable[[str], None],
        state_filter: str | None = None,
        page_size: int = PAGE_SIZE,
        on_chip: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__(live.channel, live.seq)
        self.live = live
        self.shape = TreeShape(lambda: live.tree, state_filter=state_filter, page_size=page_size)
        self.on_select = on_select
        self.on_chip = on_chip
        """Called with (entity id, state) when a node's count chip is clicked: filter that subtree to the state."""
        self.shown: list[str] = []
        """The node ids of the visible rows, in order (each watched on the live model)."""
        self.selected: str | None = None
        self._tree: ReleaseTree | None = None
        self._unreadable = 0
        self._props["label"] = f"Hierarchy of {live.release_id}"
        self.share(rows=[], views={}, selected=None)
        self.classes("w-full").mark("release-tree")
        self.on("toggle", lambda e: self._on_node(e.args, self.toggle))
        self.on("select", lambda e: self._on_node(e.args, self.select))
        self.on("more", lambda e: self._on_node(e.args, self.show_more))
        self.on("chip", self._on_chip)

    # ---- browser events -------------------------------------------------------------------------------------------
    def _node_id(self, args: object) -> str | None:
        """The node an event names, if it is in the release (anything else is ignored)."""
        entity_id = args.get("id") if isinstance(args, dict) else None
        return entity_id if isinstance(entity_id, str) and entity_id in self.live.tree.entities else None

    def _on_node(self, args: object, action: Callable[[str], object]) -> None:
        if (entity_id := self._node_id(args)) is not None:
            action(entity_id)

    def _on_chip(self, event: GenericEventArguments) -> None:
        entity_id = self._node_id(event.args)
        state = event.args.get("state") if isinstance(event.args, dict) else None
        if entity_id is not None and isinstance(state, str) and self.on_chip is not None:
            self.on_chip(entity_id, state[:64])

    # ---- the shape, changed and drawn -----------------------------------------------------------------------------
    @property
    def state_filter(self) -> str | None:
        return self.shape.state_filter

    @state_filter.setter
    def state_filter(self, state: str | None) -> None:
        self.shape.state_filter = state

    def build(self) -> None:
        """(Re)draw from the root: root expanded, troubled branches opened, settled ones closed."""
        self._tree = self.live.tree
        self._unreadable = self._tree.unreadable
        self.shape.reset(self.selected)
        self.share(selected=self.selected)  # drawn selected (aria-selected, the tree's tab stop) from the start
        self._draw()

    def toggle(self, entity_id: str) -> None:
        """Expand a collapsed node or collapse an expanded one."""
        if self.shape.collapse(entity_id) or self.shape.expand(entity_id):
            self._draw()

    def expand(self, entity_id: str) -> None:
        if self.shape.expand(entity_id):
            self._draw()

    def show_more(self, entity_id: str) -> None:
        if self.shape.show_more(entity_id):
            self._draw()

    def collapse(self, entity_id: str) -> None:
        if self.shape.collapse(entity_id):
            self._draw()

    def expand_all(self) -> int:
        """Expand every shown node level by level until MAX_RENDERED_ROWS rows; returns the rows shown."""
        self.shape.expand_all()
        self._draw()
        return len(self.shown)

    def collapse_all(self) -> None:
        self.shape.collapse_all()
        self._draw()

    def select(self, entity_id: str) -> None:
        """Highlight a node and tell the page."""
        self.highlight(entity_id)
        self.on_select(entity_id)

    def highlight(self, entity_id: str | None) -> None:
        self.selected = entity_id
        if self.shared("selected") != entity_id:
            self.share(selected=entity_id)
            self.update()

    def reveal(self, entity_id: str, *, notify: bool = True) -> bool:
        """Expand the path to a node, show it even if beyond the loaded pages, and highlight it."""
        if entity_id not in self.live.tree.entities:
            return False
        found = self.shape.reveal(entity_id)
        if found:
            self.selected = entity_id
            self.share(selected=entity_id)
        elif notify:
            ui.notify(f"{entity_id} is hidden by the state filter", type="info")
        self._draw()
        return found

    @property
    def current(self) -> bool:
        """True while the drawn rows belong to the mirror's tree (False once a reload replaced it)."""
        return self._tree is not None and self.live.tree is self._tree

    def _draw(self) -> None:
        """Send the visible rows, watching the entities that appear and releasing those that went."""
        rows = self.shape.rows()
        shown = [_row_id(row) for row in rows if _row_id(row)]
        before, after = set(self.shown), set(shown)
        views = self.live.watch(after - before)
        self.live.unwatch(before - after)
        kept = self.shared("views")
        self.share(views={i: kept.get(i) or views[i] for i in shown}, rows=rows, seq=self.live.seq, now=now_ms())
        self.shown = shown
        self.update()

    def release(self) -> None:
        """The tab is gone: stop watching its rows."""
        self.live.unwatch(self.shown)
        self.shown = []

    def redraw(self) -> None:
        """After a reload replaced the tree (or a change added an unreadable node) the shape is rebuilt; otherwise the
        rows are drawn again as they are."""
        if not self.current or self._unreadable != self.live.tree.unreadable:
            self.build()
        else:
            self._draw()
