"""A release's answers as bytes: the release with its hierarchy (``GET /releases/{id}``), one entity, a page of
children; built with orjson from the mirror's tree, in slices of SLICE_NODES nodes (a few milliseconds each), and
shared per mirror version through ``mirror.answers``. Bodies are returned left open: the freshness fields close them
per request (``freshness_tail``).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ..contract.cursors import offset_cursor
from ..domain.ids import EntityType
from ..domain.summary import release_overview
from ..domain.tree import Entity, ReleaseTree, progress_percent
from ..readpath.answer_cache import Build
from ..readpath.mirror import ReleaseMirror

SLICE_NODES = 500


def dumps(value: object) -> bytes:
    """JSON bytes (datetimes as RFC 3339 with ``Z``, like the response models)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


# ---- building blocks -------------------------------------------------------------------------------
def node_fields(entity: Entity) -> dict[str, object]:
    """An entity's fields as in ``EntityNode``, without ``children``/``next_cursor``; ``error`` only on an unreadable
    node (whose ``state`` is null)."""
    fields: dict[str, object] = {
        "id": entity.id,
        "type": entity.type.value,
        "state": entity.state,
        "updated_at": entity.updated_at,
        "parent": entity.parent,
        "counts": entity.counts,
        "progress": progress_percent(entity),
        "child_count": len(entity.children),
    }
    if entity.error is not None:
        fields["error"] = entity.error
    return fields


def node_json(entity: Entity) -> bytes:
    """One ``EntityNode`` with its children not expanded."""
    return dumps(node_fields(entity))[:-1] + b"," + _unexpanded(entity) + b"}"


def _unexpanded(entity: Entity) -> bytes:
    """``children``/``next_cursor`` of a node whose children are not shown: ``[]`` when it has none, else ``null``
    and the cursor of its first children page (the one way to page on, in every answer)."""
    if not entity.children:
        return b'"children":[],"next_cursor":null'
    return b'"children":null,"next_cursor":' + dumps(offset_cursor(0, len(entity.children)))


def problems_fields(tree: ReleaseTree) -> dict[str, object]:
    """What a release answer says about data the console could not read: ``unreadable`` nodes (in the tree, state
    null, with their ``error``), ``unplaced`` rows (no valid id: not in the tree) and the first ``problems``."""
    return {"unreadable": tree.unreadable, "unplaced": tree.unplaced, "problems": tree.problems}


def freshness_tail(mirror: ReleaseMirror) -> bytes:
    """``,"as_of":…,"stale":…,"stale_reason":…}``: the per-poll part of every answer, closing the object."""
    return b"," + dumps(freshness(mirror))[1:]


def freshness(mirror: ReleaseMirror) -> dict[str, object]:
    """``as_of``, ``stale`` and ``stale_reason`` of an answer from this mirror now."""
    reason = mirror.error.message if mirror.error else None
    return {"as_of": mirror.as_of, "stale": mirror.stale, "stale_reason": reason}


# ---- GET /releases/{id} ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DetailParams:
    """What a release detail answer depends on besides the mirror."""

    depth: int
    limit: int
    max_nodes: int
    max_bytes: int | None


def build_detail(mirror: ReleaseMirror, params: DetailParams) -> Build[bytes]:
    """The release with its hierarchy, expanded breadth-first within the node and byte budgets.

    Breadth-first, so a budget keeps whole upper levels (every wave before any cluster). Every node whose children
    are not all shown has a ``next_cursor`` for ``/entities/{id}/children`` (``o:0`` when none is shown: then its
    ``children`` is null). Returns the body left open.
    """
    tree = mirror.tree
    entities = tree.entities
    root = tree.root
    encoded: dict[str, bytes] = {}
    shown: dict[str, int] = {}
    nodes = size = 0
    truncated = False
    level = [root]
    for _ in range(params.depth):
        below: list[Entity] = []
        for parent in level:
            taken = 0
            for child_id in parent.children[: params.limit]:
                if nodes >= params.max_nodes or (params.max_bytes is not None and size >= params.max_bytes):
                    truncated = True
                    break
                child = entities[child_id]
                data = encoded[child_id] = dumps(node_fields(child))
                size += len(data) + 40
                nodes += 1
                taken += 1
                below.append(child)
                if nodes % SLICE_NODES == 0:
                    yield
            if taken:
                shown[parent.id] = taken
            if truncated:
                break
        if truncated or not below:
            break
        level = below
    parts: list[bytes] = []
    _assemble_children(root, entities, encoded, shown, parts)
    overview = release_overview(tree, mirror.updated_at)
    head = {
        "id": overview.release_id,
        "type": EntityType.RELEASE.value,
        "state": overview.state,
        "status": mirror.status,
        "updated_at": overview.updated_at,
        "counts": overview.counts,
        "progress": overview.progress,
        "apps_total": overview.apps_total,
        "apps_done": overview.apps_done,
        "entity_count": overview.entity_count,
        "child_count": len(root.children),
        "depth": params.depth,
        "truncated": truncated,
        "partial": mirror.partial,
        "final_summary": mirror.final_summary,
        **problems_fields(tree),
        "version": overview.version,
    }
    return dumps(head)[:-1] + b"," + b"".join(parts)


def _assemble_children(
    entity: Entity, entities: dict[str, Entity], encoded: dict[str, bytes], shown: dict[str, int], parts: list[bytes]
) -> None:
    """Append ``"children":[…],"next_cursor":…`` of ``entity`` (its nested nodes included)."""
    count = shown.get(entity.id)
    if count is None:
        if entity.type is EntityType.RELEASE:  # the release's children are a list in every answer
            parts.append(b'"children":[],"next_cursor":' + dumps(offset_cursor(0, len(entity.children))))
        else:
            parts.append(_unexpanded(entity))
        return
    parts.append(b'"children":[')
    for index, child_id in enumerate(entity.children[:count]):
        if index:
            parts.append(b",")
        parts.append(encoded[child_id][:-1])
        parts.append(b",")
        _assemble_children(entities[child_id], entities, encoded, shown, parts)
        parts.append(b"}")
    parts.append(b'],"next_cursor":' + dumps(offset_cursor(count, len(entity.children))))


# ---- entity and children -------------------------------------------------------------------------
def entity_body(mirror: ReleaseMirror, entity_id: str) -> bytes:
    """An ``EntityResponse`` without its freshness fields (404 when the entity is not in the release)."""
    entity = mirror.entity(entity_id)
    ancestors = list(mirror.tree.ancestors(entity))
    parent = ancestors[0] if ancestors else None
    head = {
        "release_id": mirror.release_id,
        "parent": {"id": parent.id, "type": parent.type.value, "state": parent.state} if parent else None,
        "path": [a.id for a in reversed(ancestors)],
        "version": mirror.version,
    }
    return dumps(head)[:-1] + b',"entity":' + node_json(entity)


@dataclass(frozen=True)
class ChildrenParams:
    """One page of one node's children."""

    parent_id: str
    state: str | None
    start: int
    limit: int


def build_children(mirror: ReleaseMirror, params: ChildrenParams) -> Build[bytes]:
    """A ``ChildrenResponse`` page without its freshness fields."""
    kids = mirror.tree.children_of(params.parent_id, params.state)
    page = kids[params.start : params.start + params.limit]
    items: list[bytes] = []
    for index, kid in enumerate(page, 1):
        items.append(node_json(kid))
        if index % SLICE_NODES == 0:
            yield
    head = {
        "release_id": mirror.release_id,
        "parent_id": params.parent_id,
        "total": len(kids),
        "next_cursor": offset_cursor(params.start + len(page), len(kids)),
        "version": mirror.version,
    }
    return dumps(head)[:-1] + b',"items":[' + b",".join(items) + b"]"
