"""A release plan: the whole hierarchy with initial states, and the rules it must follow."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .ids import EntityId, EntityType, InvalidEntityId, well_formed_type
from .states import CANONICAL_STATES, MAX_DISTINCT_STATES, InvalidState, validate_state

EntityRow = tuple[str, "str | None", "str | None", "str | None"]
"""(entity id, parent id, state, updated_at) — the flat form used for snapshots and continue-as-new. The state is
None only in a row the console could not read (ReleaseTree's ``unreadable``)."""

StatedRow = tuple[str, "str | None", str, "str | None"]
"""An EntityRow whose state is known (the entity index's rows; plans flattened by the workflow)."""

MAX_PLAN_ENTITIES = 120_000
"""The largest plan a release may have. The workflow builds its whole tree in its first workflow task, which must
finish inside the Python SDK's 2 s deadlock timeout: ~100,000 entities take about 1 s on a 2-core machine."""
_CHILD_TYPES: dict[EntityType, EntityType | None] = {t: t.child_type for t in EntityType}


@dataclass
class PlanNode:
    """One entity of a plan with its children (a release at the root)."""

    id: str
    state: str = "pending"
    children: list[PlanNode] = field(default_factory=list)


class InvalidPlan(ValueError):
    """A plan that breaks the hierarchy; the message names the offending id and rule."""


def validate_plan(plan: PlanNode, *, release_id: str | None = None) -> int:
    """Check every rule of the hierarchy; return the number of entities or raise InvalidPlan.

    Runs inside a workflow task for plans of 100,000+ entities, so well-formed nodes take a fast path (one regex,
    a set and a dict lookup); anything unusual goes through ``_check_node``, which names the broken rule.
    """
    try:
        root = EntityId.parse(plan.id)
    except InvalidEntityId as exc:
        raise InvalidPlan(f"root: {exc}") from None
    if root.type is not EntityType.RELEASE:
        raise InvalidPlan(f"{plan.id}: the root of a plan must be a release, not a {root.type.value}")
    if release_id is not None and plan.id != release_id:
        raise InvalidPlan(f"{plan.id}: the plan's release id does not match the workflow id {release_id!r}")
    seen: set[str] = set()
    states: set[str] = set()
    stack: list[tuple[PlanNode, EntityType, str | None]] = [(plan, EntityType.RELEASE, None)]
    while stack:
        node, expected, parent = stack.pop()
        node_id = node.id
        if well_formed_type(node_id) != expected or node_id in seen or node.state not in CANONICAL_STATES:
            _check_node(node, expected, parent, seen)  # raises with the broken rule, or accepts a foreign state
        seen.add(node_id)
        states.add(node.state)
        children = node.children
        child_type = _CHILD_TYPES[expected]
        if children and child_type is None:
            raise InvalidPlan(f"{node_id}: an app cannot have children")
        if expected is EntityType.CLUSTER and len(children) != 1:
            raise InvalidPlan(f"{node_id}: a cluster must hold exactly one bundle, it holds {len(children)}")
        stack.extend((child, child_type, node_id) for child in reversed(children))  # type: ignore[misc]
        if len(seen) > MAX_PLAN_ENTITIES:
            raise InvalidPlan(f"plan has more than {MAX_PLAN_ENTITIES} entities")
    if len(states) > MAX_DISTINCT_STATES:
        raise InvalidPlan(
            f"{plan.id}: the plan uses {len(states)} different states; a release may use at most {MAX_DISTINCT_STATES}"
        )
    return len(seen)


def _check_node(node: PlanNode, expected: EntityType, parent: str | None, seen: set[str]) -> None:
    try:
        entity_id = EntityId.parse(node.id)
    except InvalidEntityId as exc:
        raise InvalidPlan(f"child of {parent}: {exc}") from None
    if entity_id.type is not expected:
        raise InvalidPlan(
            f"{node.id}: a {entity_id.type.value} cannot be a child of {parent}; "
            f"children of a {expected.parent_type.value if expected.parent_type else 'plan'} must be {expected.value}s"
        )
    if node.id in seen:
        raise InvalidPlan(f"{node.id}: duplicate id; every id must be unique in a release")
    try:
        validate_state(node.state)
    except InvalidState as exc:
        raise InvalidPlan(f"{node.id}: {exc}") from None


def plan_from_data(data: object) -> PlanNode:
    """Build a PlanNode tree from its JSON form (``{"id", "state", "children"}``) without type introspection.

    Much faster than generic dataclass conversion for 100,000 entities. InvalidPlan for a malformed shape.
    """
    root, raw_root = _node_from_data(data, "root")
    stack = [(root, raw_root)]
    while stack:
        node, raw = stack.pop()
        children = raw.get("children") or []
        if not isinstance(children, list):
            raise InvalidPlan(f"{node.id}: 'children' must be a list")
        for child in children:
            made, raw_child = _node_from_data(child, f"child of {node.id}")
            node.children.append(made)
            stack.append((made, raw_child))
    return root


def _node_from_data(data: object, where: str) -> tuple[PlanNode, dict[str, object]]:
    """The node (its id and state as they came: validate_plan checks them) and its JSON object."""
    if not isinstance(data, dict):
        raise InvalidPlan(f"{where}: a plan node must be an object with 'id', 'state' and 'children'")
    # The values are unchecked here on purpose (validate_plan checks every node once): PlanNode holds them as given.
    return PlanNode(data.get("id"), data.get("state", "pending")), data  # type: ignore[arg-type]


def flatten_plan(plan: PlanNode) -> Iterator[EntityRow]:
    """Rows in pre-order (parents before children, children in plan order)."""
    stack: list[tuple[PlanNode, str | None]] = [(plan, None)]
    while stack:
        node, parent = stack.pop()
        node_id = node.id
        yield (node_id, parent, node.state, None)
        if node.children:
            stack.extend([(child, node_id) for child in reversed(node.children)])
