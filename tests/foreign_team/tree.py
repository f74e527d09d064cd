"""The deploy team's release tree: entities, rollups and the change log, answering the contract's queries.

Written from docs/query-contract.md alone (sections 1, 2 and 6), with the standard library only, so it runs inside
Temporal's workflow sandbox. Every answer is plain JSON-ready data (dicts and lists, snake_case keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("release", "wave", "cluster", "bundle", "app")
ENTITY_ID = re.compile(r"(release|wave|cluster|bundle|app):([A-Za-z0-9._-]{1,128})")
DONE = frozenset({"deployed", "failed", "rolled_back", "cancelled"})
"""An app in one of these counts as done; a release in one of them is over."""
MAX_STATES = 32
MAX_STATE_LENGTH = 64
MAX_BATCH = 1000
CHANGES_KEPT = 5000
SUMMARY_WAVES = 200


def well_formed(entity_id: object) -> bool:
    """``type:id`` with a known type and a plain id part (not ``.`` or ``..``)."""
    if not isinstance(entity_id, str) or not (match := ENTITY_ID.fullmatch(entity_id)):
        return False
    return match.group(2) not in {".", ".."}


@dataclass
class Node:
    """One entity: its state, last transition, parent, children in plan order and descendant counts."""

    id: str
    type: str
    state: str
    updated_at: str
    parent: str | None
    children: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


class Refused(ValueError):
    """A request or batch the tree cannot answer or accept; its message goes back to the caller."""


class ReleaseTree:
    """The hierarchy of one release, its version and its change log."""

    def __init__(self, plan: dict[str, Any], started_at: str) -> None:
        self.nodes: dict[str, Node] = {}
        self.order: list[str] = []
        """Entity ids in plan pre-order (parents before children)."""
        self.version = 0
        self.updated_at = started_at
        self.log: list[tuple[int, str, str, str]] = []
        """(version, id, state, updated_at), oldest first."""
        self.floor = 0
        """The highest version no longer complete in the log."""
        self._add(plan, None, started_at)
        self.release_id = plan["id"]

    def _add(self, spec: dict[str, Any], parent: Node | None, at: str) -> None:
        entity_id, state = spec.get("id"), spec.get("state")
        if not well_formed(entity_id) or entity_id in self.nodes:
            raise Refused(f"invalid release plan: {entity_id!r}: malformed or repeated id")
        if not isinstance(state, str) or not state.strip() or len(state) > MAX_STATE_LENGTH:
            raise Refused(f"invalid release plan: {entity_id}: bad state")
        kind = entity_id.split(":", 1)[0]
        expected = LEVELS[0] if parent is None else LEVELS[LEVELS.index(parent.type) + 1]
        if kind != expected:
            raise Refused(f"invalid release plan: {entity_id}: a {expected} was expected here")
        node = Node(entity_id, kind, state, at, parent.id if parent else None)
        self.nodes[entity_id] = node
        self.order.append(entity_id)
        if parent is not None:
            parent.children.append(entity_id)
            self._count(node, state, +1)
        children = spec.get("children") or []
        if kind == "cluster" and len(children) != 1:
            raise Refused(f"invalid release plan: {entity_id}: a cluster holds exactly one bundle")
        for child in children:
            self._add(child, node, at)

    # ---- rollups -------------------------------------------------------------------------------------------------
    def _count(self, node: Node, state: str, delta: int) -> None:
        """Add ``delta`` to ``node``'s type and ``state`` in the counts of every ancestor."""
        parent_id = node.parent
        while parent_id is not None:
            ancestor = self.nodes[parent_id]
            by_state = ancestor.counts.setdefault(node.type, {})
            by_state[state] = by_state.get(state, 0) + delta
            if by_state[state] == 0:
                del by_state[state]
            if not by_state:
                del ancestor.counts[node.type]
            parent_id = ancestor.parent

    @property
    def root(self) -> Node:
        return self.nodes[self.release_id]

    def states(self) -> set[str]:
        """The different states the release uses."""
        return {node.state for node in self.nodes.values()}

    def apps(self) -> tuple[int, int]:
        """(apps in all, apps done)."""
        apps = self.root.counts.get("app", {})
        return sum(apps.values()), sum(n for state, n in apps.items() if state in DONE)

    @property
    def over(self) -> bool:
        return self.root.state in DONE

    # ---- the update ----------------------------------------------------------------------------------------------
    def validate(self, batch: Any) -> list[tuple[str, str]]:
        """The batch's (id, state) pairs; Refused (the whole batch) for any reason of the contract's section 3."""
        transitions = batch.get("transitions") if isinstance(batch, dict) else None
        if not isinstance(transitions, list):
            raise Refused("batch has no transitions list")
        if not transitions:
            raise Refused("batch is empty")
        if len(transitions) > MAX_BATCH:
            raise Refused(f"batch has {len(transitions)} transitions; at most {MAX_BATCH}")
        if self.over:
            raise Refused(f"{self.release_id} is {self.root.state}; a finished release accepts no transitions")
        pairs: list[tuple[str, str]] = []
        for index, item in enumerate(transitions):
            entity_id = item.get("entity_id") if isinstance(item, dict) else None
            state = item.get("state") if isinstance(item, dict) else None
            if not well_formed(entity_id):
                raise Refused(f"transition {index}: entity id {entity_id!r} is malformed")
            if entity_id not in self.nodes:
                raise Refused(f"transition {index}: {entity_id} is not part of {self.release_id}")
            if not isinstance(state, str) or not state.strip():
                raise Refused(f"transition {index} ({entity_id}): state is empty")
            if len(state) > MAX_STATE_LENGTH:
                raise Refused(f"transition {index} ({entity_id}): state is {len(state)} characters long; at most 64")
            pairs.append((entity_id, state))
        new = {state for _, state in pairs} - self.states()
        if len(self.states()) + len(new) > MAX_STATES:
            raise Refused(f"batch brings {len(new)} new state(s); a release may use at most {MAX_STATES}")
        return pairs

    def apply(self, pairs: list[tuple[str, str]], at: str) -> dict[str, int]:
        """One accepted batch: one new version, every transition stamped ``at``, logged and rolled up."""
        self.version += 1
        for entity_id, state in pairs:
            node = self.nodes[entity_id]
            if node.parent is not None:
                self._count(node, node.state, -1)
                self._count(node, state, +1)
            node.state, node.updated_at = state, at
            self.log.append((self.version, entity_id, state, at))
        self.updated_at = at
        if len(self.log) > CHANGES_KEPT:
            dropped = self.log[: len(self.log) - CHANGES_KEPT]
            self.log = self.log[len(dropped):]
            self.floor = max(self.floor, dropped[-1][0])
        return {"version": self.version, "applied": len(pairs)}

    # ---- the queries ---------------------------------------------------------------------------------------------
    def view(self, node: Node) -> dict[str, Any]:
        """An EntityView."""
        return {"id": node.id, "type": node.type, "state": node.state, "updated_at": node.updated_at,
                "parent": node.parent, "counts": {t: dict(s) for t, s in node.counts.items()},
                "child_count": len(node.children)}

    def summary(self) -> dict[str, Any]:
        total, done = self.apps()
        root = self.root
        return {"release_id": self.release_id, "state": root.state, "version": self.version,
                "updated_at": self.updated_at, "counts": self.view(root)["counts"], "entity_count": len(self.nodes),
                "apps_total": total, "apps_done": done,
                "waves": [self.view(self.nodes[w]) for w in root.children[:SUMMARY_WAVES]]}

    def memo(self) -> dict[str, Any]:
        """The compact summary kept in the memo under ``summary``."""
        full = self.summary()
        return {k: full[k] for k in ("state", "version", "updated_at", "apps_total", "apps_done", "entity_count",
                                     "counts")}

    def entity(self, entity_id: Any) -> dict[str, Any] | None:
        node = self.nodes.get(entity_id) if isinstance(entity_id, str) else None
        return None if node is None else self.view(node)

    def children(self, request: Any) -> dict[str, Any]:
        request = request if isinstance(request, dict) else {}
        parent_id = request.get("parent_id")
        if parent_id not in self.nodes:
            raise Refused(f"{parent_id} is not part of this release")
        limit = _limit(request.get("limit", 100), 1000)
        state = request.get("state")
        kids = [self.nodes[c] for c in self.nodes[parent_id].children]
        if state is not None:
            kids = [k for k in kids if k.state == state]
        start = _offset(request.get("cursor"), len(kids))
        page = kids[start : start + limit]
        after = start + len(page)
        return {"parent_id": parent_id, "version": self.version, "items": [self.view(k) for k in page],
                "total": len(kids), "next_cursor": f"o:{after}" if after < len(kids) else None}

    def changes(self, request: Any) -> dict[str, Any]:
        request = request if isinstance(request, dict) else {}
        since = request.get("since_version", 0)
        if type(since) is not int or since < 0:
            raise Refused(f"since_version must be a non-negative integer, got {since!r}")
        limit = _limit(request.get("limit", 1000), 2000)
        if since > self.version or since < self.floor:
            return {"version": self.version, "reload": True, "more": False, "changes": []}
        pending = [entry for entry in self.log if entry[0] > since]
        taken: list[tuple[int, str, str, str]] = []
        for entry in pending:
            batch_starts = not taken or entry[0] != taken[-1][0]
            if batch_starts and taken and len(taken) + _batch_size(pending, entry[0]) > limit:
                break
            taken.append(entry)
        reached = taken[-1][0] if taken else since
        return {"version": reached, "reload": False, "more": len(taken) < len(pending),
                "changes": [{"version": v, "id": i, "state": s, "updated_at": u} for v, i, s, u in taken]}

    def snapshot(self, request: Any) -> dict[str, Any]:
        request = request if isinstance(request, dict) else {}
        limit = _limit(request.get("limit", 2000), 4000)
        start = _offset(request.get("cursor"), len(self.order))
        ids = self.order[start : start + limit]
        after = start + len(ids)
        rows = [[n.id, n.parent, n.state, n.updated_at] for n in (self.nodes[i] for i in ids)]
        return {"version": self.version, "total": len(self.order), "rows": rows,
                "next_cursor": f"o:{after}" if after < len(self.order) else None}


def _limit(value: Any, most: int) -> int:
    if type(value) is not int or not 1 <= value <= most:
        raise Refused(f"limit must be an integer from 1 to {most}, got {value!r}")
    return value


def _offset(cursor: Any, total: int) -> int:
    if cursor is None:
        return 0
    text = cursor[2:] if isinstance(cursor, str) and cursor.startswith("o:") else ""
    if not text.isdigit():
        raise Refused(f"invalid cursor {str(cursor)[:40]!r}")
    if int(text) > total:
        raise Refused(f"cursor {cursor!r} is past the end ({total} items)")
    return int(text)


def _batch_size(log: list[tuple[int, str, str, str]], version: int) -> int:
    return sum(1 for entry in log if entry[0] == version)
