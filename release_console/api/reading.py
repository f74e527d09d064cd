"""Shared helpers of the read routes: parameter checks (before any Temporal call) and mirror → response models."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, Query

from ..domain.ids import EntityId, EntityType, InvalidEntityId
from ..domain.states import DONE_STATES, InvalidState, validate_state
from ..domain.tree import Entity, ReleaseTree, percent
from ..readpath.errors import EntityNotFound, TemporalUnavailable
from ..readpath.mirror import MirrorRegistry, ReleaseMirror
from ..readpath.release_list import ReleaseList
from ..workflows.contract import offset_cursor, parse_offset_cursor
from ..workflows.views import entity_view
from .deps import ServicesDep
from .errors import invalid
from .schemas import EntityNode, EntityRef, EntityResponse

MAX_PAGE = 1000
MAX_NODES = 5000
"""At most this many nodes in one GET /releases/{id} answer; deeper levels are left for the children endpoint."""

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size, 1–1000.")]
StateFilter = Annotated[
    str | None, Query(max_length=64, description="Only entities in this state (any state string, e.g. `failed`).")
]
Cursor = Annotated[str | None, Query(max_length=400, description="`next_cursor` of the previous page.")]


def parse_id(text: str, expected: EntityType | None = None) -> str:
    """A well-formed entity id, else 422 ``invalid_id`` saying why (no Temporal call is made)."""
    try:
        return str(EntityId.parse(text, expected=expected))
    except InvalidEntityId as exc:
        raise invalid(str(exc), code="invalid_id") from None


def parse_state(state: str | None) -> str | None:
    """A valid state filter or None, else 422."""
    if state is None:
        return None
    try:
        return validate_state(state)
    except InvalidState as exc:
        raise invalid(f"state: {exc}") from None


def parse_offset(cursor: str | None, total: int) -> int:
    """The offset inside an ``o:<n>`` cursor, else 422 ``invalid_cursor``."""
    try:
        return parse_offset_cursor(cursor, total)
    except ValueError as exc:
        raise invalid(str(exc), code="invalid_cursor") from None


def get_mirrors(services: ServicesDep) -> MirrorRegistry:
    """The mirror registry (503 while the read path is not running)."""
    if services.mirrors is None:
        raise TemporalUnavailable("the read path is not running yet")
    return services.mirrors


def get_release_list(services: ServicesDep) -> ReleaseList:
    """The shared release list (503 while the read path is not running)."""
    if services.release_list is None:
        raise TemporalUnavailable("the read path is not running yet")
    return services.release_list


MirrorsDep = Annotated[MirrorRegistry, Depends(get_mirrors)]
ReleaseListDep = Annotated[ReleaseList, Depends(get_release_list)]


def freshness(mirror: ReleaseMirror) -> dict[str, Any]:
    """The version/as_of/stale fields of an answer from this mirror."""
    return {
        "version": mirror.version,
        "as_of": mirror.as_of,
        "stale": mirror.stale,
        "stale_reason": mirror.error.message if mirror.error else None,
    }


def find_entity(mirror: ReleaseMirror, entity_id: str) -> Entity:
    """The entity in this release, else 404 ``entity_not_found`` naming both."""
    entity = mirror.tree.entities.get(entity_id)
    if entity is None:
        raise EntityNotFound(f"entity {entity_id} not found in {mirror.release_id}")
    return entity


def progress(entity: Entity) -> int:
    """Percentage of apps done below a node (an app: 100 when done, else 0)."""
    if entity.type is EntityType.APP:
        return 100 if entity.state in DONE_STATES else 0
    apps = entity.counts.get(EntityType.APP.value, {})
    return percent(sum(n for s, n in apps.items() if s in DONE_STATES), sum(apps.values()))


def ref(entity: Entity) -> EntityRef:
    """A short reference."""
    return EntityRef(id=entity.id, type=entity.type.value, state=entity.state)


def node(entity: Entity) -> EntityNode:
    """One entity without its children: the query contract's view of it plus its progress."""
    return EntityNode(**asdict(entity_view(entity)), progress=progress(entity))


class Expander:
    """Builds nested nodes down to a depth, the first ``limit`` children per node, within MAX_NODES."""

    def __init__(self, tree: ReleaseTree, limit: int) -> None:
        self.tree = tree
        self.limit = limit
        self.budget = MAX_NODES
        self.truncated = False

    def children(self, entity: Entity, levels: int) -> tuple[list[EntityNode] | None, str | None]:
        """The first page of children expanded ``levels - 1`` further, and the cursor of the rest."""
        if not entity.children:
            return [], None
        if levels <= 0:
            return None, None
        ids = entity.children[: self.limit]
        if len(ids) > self.budget:
            self.truncated = True
            return None, None
        self.budget -= len(ids)
        nodes = []
        for child_id in ids:
            child = self.tree.entities[child_id]
            item = node(child)
            item.children, item.next_cursor = self.children(child, levels - 1)
            nodes.append(item)
        return nodes, offset_cursor(len(ids), len(entity.children))


def entity_response(mirror: ReleaseMirror, entity_id: str) -> EntityResponse:
    """An entity of a loaded mirror with its place in the hierarchy (404 when not in it)."""
    entity = find_entity(mirror, entity_id)
    ancestors = list(mirror.tree.ancestors(entity))
    parent = ancestors[0] if ancestors else None
    return EntityResponse(
        release_id=mirror.release_id,
        entity=node(entity),
        parent=ref(parent) if parent else None,
        path=[a.id for a in reversed(ancestors)],
        **freshness(mirror),
    )
