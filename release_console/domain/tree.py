"""A release's hierarchy in memory: entities, parent/child links, per-node rollups and the change log.

The same class serves the workflow (deterministic, no I/O) and the console's mirror of a release.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from .ids import EntityType, InvalidEntityId, entity_type_of
from .plan import EntityRow, PlanNode, flatten_plan
from .states import DONE_STATES

Counts = dict[str, dict[str, int]]
"""Descendant counts of a node: entity type -> state -> number."""


@dataclass(slots=True)
class Entity:
    """One node of the hierarchy."""

    id: str
    type: EntityType
    state: str | None
    """None only while the node is unreadable (see ``error``)."""
    updated_at: str | None
    parent: str | None
    children: list[str] = field(default_factory=list)
    counts: Counts = field(default_factory=dict)
    error: str | None = None
    """Why the console could not read this node (its row broke the query contract, or an ancestor's did); such a
    node has no state, its rollups are empty and it counts in no ancestor's rollups."""


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded transition: the entity's new state, when, and the version of its batch."""

    version: int
    id: str
    state: str
    updated_at: str


class UnknownEntity(KeyError):
    """An entity id that is well-formed but not part of this release."""


MAX_PROBLEMS = 10
"""Problems a tree keeps described (the first ones found); the rest are only counted."""


class ReleaseTree:
    """Entities of one release indexed by id, with rollups kept up to date on every change."""

    def __init__(
        self,
        rows: Iterable[EntityRow],
        *,
        version: int = 0,
        changes_kept: int = 5000,
        unreadable: dict[str, str] | None = None,
    ) -> None:
        """Build from rows in pre-order (parents first). ``unreadable`` maps ids to why their row could not be read:
        those nodes and everything below them are kept, without state, and left out of every rollup."""
        self.entities: dict[str, Entity] = {}
        self.version = version
        self.changes: deque[Change] = deque()
        self.changes_kept = changes_kept
        self.log_floor = version
        """Changes with a version above log_floor are all still in ``changes``."""
        self._order: list[str] | None = None
        self.unreadable = 0
        """Nodes that could not be read (see ``Entity.error``)."""
        self.unplaced = 0
        """Rows of the release that could not be placed in the tree at all (no valid id)."""
        self.problems: list[str] = []
        """The first MAX_PROBLEMS problems found (unreadable nodes' own reasons, rows not placed)."""
        entities = self.entities
        with paused_gc():
            for entity_id, parent, state, updated_at in rows:
                entities[entity_id] = Entity(entity_id, entity_type_of(entity_id), state, updated_at, parent)
                if parent is not None:
                    entities[parent].children.append(entity_id)
            if unreadable:
                self._mark_unreadable(unreadable)
            self._roll_up()
        self.root_id = next(iter(entities), None)

    @classmethod
    def from_plan(cls, plan: PlanNode, *, version: int = 0, changes_kept: int = 5000) -> ReleaseTree:
        """Build from a validated plan."""
        return cls(flatten_plan(plan), version=version, changes_kept=changes_kept)

    def _mark_unreadable(self, reasons: dict[str, str]) -> None:
        """Mark these nodes and their subtrees unreadable, in one pre-order pass (a parent is marked before its
        children, so each node only looks at its parent)."""
        entities = self.entities
        for entity in entities.values():
            reason = reasons.get(entity.id)
            if reason is not None:
                self.note_problem(f"{entity.id}: {reason}")
            elif entity.parent is not None and entities[entity.parent].error is not None:
                reason = f"its parent {entity.parent} could not be read"
            else:
                continue
            entity.error = reason
            entity.state = None
            self.unreadable += 1

    def note_problem(self, problem: str) -> None:
        """Remember a problem's description while fewer than MAX_PROBLEMS are kept."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def add_unreadable(self, entity_id: str, reason: str) -> Entity:
        """A node the release named but never listed (a well-formed id): kept under the release, unreadable."""
        root = self.root
        entity = Entity(entity_id, entity_type_of(entity_id), None, None, root.id, error=reason)
        self.entities[entity_id] = entity
        root.children.append(entity_id)
        self.unreadable += 1
        self.note_problem(f"{entity_id}: {reason}")
        return entity

    def _roll_up(self) -> None:
        """Compute every node's descendant counts in one bottom-up pass (rows come parents first).

        Each node adds itself and its own counts to its parent only: O(entities), not O(entities × depth),
        so a 100,000-app tree builds well inside a workflow task's deadlock timeout.
        """
        entities = self.entities
        for entity in reversed(entities.values()):
            state = entity.state
            if entity.parent is None or entity.error is not None or state is None:
                continue
            into = entities[entity.parent].counts
            own = into.setdefault(entity.type.value, {})
            own[state] = own.get(state, 0) + 1
            for type_name, by_state in entity.counts.items():
                target = into.setdefault(type_name, {})
                for state, n in by_state.items():
                    target[state] = target.get(state, 0) + n

    # ---- reading -------------------------------------------------------------------------------
    @property
    def root(self) -> Entity:
        """The release entity."""
        if self.root_id is None:
            raise UnknownEntity("empty tree")
        return self.entities[self.root_id]

    def get(self, entity_id: str) -> Entity:
        """The entity with this id, or UnknownEntity."""
        try:
            return self.entities[entity_id]
        except KeyError:
            raise UnknownEntity(entity_id) from None

    def ancestors(self, entity: Entity) -> Iterator[Entity]:
        """Parent, grandparent, … up to the release."""
        parent = entity.parent
        while parent is not None:
            node = self.entities[parent]
            yield node
            parent = node.parent

    def touched(self, entity_ids: Iterable[str]) -> set[str]:
        """These entities and all their ancestors (whose roll-ups move with them); ids not in the tree are skipped.

        Each chain stops at the first node already collected (its ancestors are in too): O(ids + nodes touched).
        """
        found: set[str] = set()
        entities = self.entities
        for entity_id in entity_ids:
            entity = entities.get(entity_id)
            while entity is not None and entity.id not in found:
                found.add(entity.id)
                entity = entities.get(entity.parent) if entity.parent is not None else None
        return found

    def children_of(self, entity_id: str, state: str | None = None) -> list[Entity]:
        """The children of a node in plan order, optionally only those in one state."""
        node = self.get(entity_id)
        kids = [self.entities[c] for c in node.children]
        return kids if state is None else [k for k in kids if k.state == state]

    def rows(self) -> Iterator[EntityRow]:
        """All entities as rows in plan (pre-)order, parents before children."""
        for e in self.entities.values():
            yield self._row(e)

    def row_slice(self, start: int, stop: int) -> list[EntityRow]:
        """Rows ``start``..``stop`` of :meth:`rows` (entities keep insertion order)."""
        if self._order is None or len(self._order) != len(self.entities):
            self._order = list(self.entities)
        return [self._row(self.entities[i]) for i in self._order[start:stop]]

    @staticmethod
    def _row(e: Entity) -> EntityRow:
        return (e.id, e.parent, e.state, e.updated_at)

    def states_in_use(self) -> set[str]:
        """Every state some entity of the release is in (read off the release's rollups: no scan)."""
        root = self.root
        assert root.state is not None, "the release's own row is always readable (validation checks it)"
        return {root.state, *(state for by_state in root.counts.values() for state in by_state)}

    def progress(self, entity_id: str | None = None) -> tuple[int, int]:
        """(apps done, apps total) below a node (the release by default)."""
        return apps_done(self.get(entity_id) if entity_id else self.root)

    def percent_done(self, entity_id: str | None = None) -> int:
        """Progress of a node (the release by default) as a whole percentage: see :func:`progress_percent`."""
        return progress_percent(self.get(entity_id) if entity_id else self.root)

    # ---- changing ------------------------------------------------------------------------------
    def apply(self, transitions: Sequence[tuple[str, str]], at: str) -> int:
        """Record a batch of (id, new state) at time ``at`` as one new version; return that version."""
        version = self.version + 1
        self.replay([Change(version, entity_id, state, at) for entity_id, state in transitions], version)
        return version

    def replay(self, changes: Iterable[Change], version: int) -> None:
        """Apply changes already versioned (by this tree, or by the workflow a mirror follows) up to ``version``."""
        for change in changes:
            self.set_state(change.id, change.state, change.updated_at)
            self.changes.append(change)
        while len(self.changes) > self.changes_kept:
            self.log_floor = self.changes.popleft().version
        self.version = max(self.version, version)

    def set_state(self, entity_id: str, state: str, at: str | None) -> None:
        """Set one entity's state and time, moving its weight in every ancestor's rollup (an unreadable node stays
        unreadable: a change cannot vouch for the row the release listed)."""
        entity = self.get(entity_id)
        old = entity.state
        if entity.error is not None or old is None:
            return
        if old != state:
            for ancestor in self.ancestors(entity):
                _bump(ancestor.counts, entity.type.value, old, -1)
                _bump(ancestor.counts, entity.type.value, state, 1)
            entity.state = state
        entity.updated_at = at

    def changes_since(
        self, since: int, limit: int, max_bytes: int | None = None
    ) -> tuple[list[Change], int, bool, bool]:
        """Changes after ``since`` in whole batches: at most ``limit`` changes (and ``max_bytes`` of JSON).

        A batch is never split: the first batch is returned whole even when it alone passes the limits,
        later batches only if they fit. Returns (changes, version reached, more to come, reload needed).
        """
        if since < self.log_floor or since > self.version:
            return [], self.version, False, True
        picked: list[Change] = []
        size = 0
        batch: list[Change] = []
        batch_size = 0
        for change in self.changes:
            if change.version <= since:
                continue
            if batch and change.version != batch[0].version:
                if not self._fits(picked, size, batch, batch_size, limit, max_bytes):
                    return picked, picked[-1].version, True, False
                picked += batch
                size += batch_size
                batch, batch_size = [], 0
            batch.append(change)
            batch_size += change_json_size(change)
        if batch and not self._fits(picked, size, batch, batch_size, limit, max_bytes):
            return picked, picked[-1].version, True, False
        return picked + batch, self.version, False, False

    @staticmethod
    def _fits(
        picked: list[Change], size: int, batch: list[Change], batch_size: int, limit: int, max_bytes: int | None
    ) -> bool:
        """Whether one more whole batch may join a page (the first batch always does)."""
        if not picked:
            return True
        return len(picked) + len(batch) <= limit and (max_bytes is None or size + batch_size <= max_bytes)


def change_json_size(change: Change) -> int:
    """About how many bytes one change takes in a JSON query result."""
    return 64 + len(change.id) + len(change.state) + len(change.updated_at)


def row_json_size(row: EntityRow) -> int:
    """At most how many bytes one ``[id, parent, state, updated_at]`` row takes in compact JSON (a separating comma,
    brackets, quotes and commas; ``null`` for a missing part; a non-ASCII state counted as ``\\uXXXX`` escapes)."""
    entity_id, parent, state, updated_at = row
    if state is None:
        state_size = 4  # null
    elif state.isascii():
        state_size = len(state)
    else:
        state_size = 6 * len(state)
    return 14 + len(entity_id) + (len(parent) if parent else 4) + state_size + (len(updated_at) if updated_at else 4)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large tree is built.

    Building 100,000 entities allocates ~300,000 containers, and every few hundred allocations the collector
    re-scans the growing heap: that alone costs about half of the build. Nothing built here is garbage, so
    collection simply waits until the block ends (reference counting still frees memory as usual). Nested
    uses keep the outermost caller in charge of re-enabling it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def percent(done: int, total: int) -> int:
    """``done`` out of ``total`` as a whole percentage (0 when total is 0)."""
    return 100 * done // total if total else 0


def apps_done(entity: Entity) -> tuple[int, int]:
    """(apps done, apps total) below a node, read off its rollups."""
    apps = entity.counts.get(EntityType.APP.value, {})
    return sum(n for s, n in apps.items() if s in DONE_STATES), sum(apps.values())


def progress_percent(entity: Entity) -> int:
    """A node's progress: the percentage of the apps below it that are done; an app counts itself (100 when done,
    else 0). The one progress rule of the console (tree, REST answers, pages, the workflow's search attribute)."""
    if entity.type is EntityType.APP:
        return 100 if entity.state in DONE_STATES else 0
    return percent(*apps_done(entity))


def last_updated(tree: ReleaseTree, loaded_at: str | None = None) -> str | None:
    """Time of the newest recorded transition; with an empty log ``loaded_at`` (newest entity time when a copy
    was loaded), else the release's own time."""
    if tree.changes:
        return tree.changes[-1].updated_at
    return loaded_at or tree.root.updated_at


def _bump(counts: Counts, type_name: str, state: str, delta: int) -> None:
    by_state = counts.setdefault(type_name, {})
    value = by_state.get(state, 0) + delta
    if value:
        by_state[state] = value
    else:
        by_state.pop(state, None)
        if not by_state:
            counts.pop(type_name, None)


__all__ = [
    "MAX_PROBLEMS",
    "Change",
    "Counts",
    "Entity",
    "InvalidEntityId",
    "ReleaseTree",
    "UnknownEntity",
    "apps_done",
    "change_json_size",
    "last_updated",
    "percent",
    "progress_percent",
    "row_json_size",
]
