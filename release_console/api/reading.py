"""Shared helpers of the read routes: parameter checks (before any Temporal call)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from ..contract.cursors import parse_offset_cursor
from ..domain.ids import EntityId, EntityType, InvalidEntityId
from ..domain.states import InvalidState, validate_state
from ..domain.workflow_status import STATUS_FILTERS, InvalidStatusFilter, parse_status_filter
from .errors import invalid

MAX_PAGE = 1000
MAX_NODES = 5000
"""At most this many nodes in one GET /releases/{id} answer; deeper levels are left for the children endpoint."""
MAX_DEPTH = 4
"""Levels below a release (wave, cluster, bundle, app): the whole hierarchy."""
DEFAULT_ANSWER_BYTES = 60 * 1024
"""Nodes of a GET /releases/{id} without ``depth`` stop here, so the default answer stays under 64 KiB (its head,
with at most 10 problems, is a few KB): a 268-entity release with ids like the demo's fits whole (about 57.3 KB)."""

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size, 1–1000.")]
StateFilter = Annotated[
    str | None, Query(max_length=64, description="Only entities in this state (any state string, e.g. `failed`).")
]
Cursor = Annotated[str | None, Query(max_length=400, description="`next_cursor` of the previous page.")]
StatusFilter = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Only releases whose workflow status matches: "
        + "; ".join(f"`{k}` = {v}" for k, v in STATUS_FILTERS.items())
        + ".",
    ),
]


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


def parse_status(status: str | None) -> str | None:
    """A valid workflow status filter or None, else 422 ``invalid_parameter`` naming the accepted values."""
    try:
        return parse_status_filter(status)
    except InvalidStatusFilter as exc:
        raise invalid(f"status: {exc}") from None


def parse_offset(cursor: str | None, total: int) -> int:
    """The offset inside an ``o:<n>`` cursor, else 422 ``invalid_cursor``."""
    try:
        return parse_offset_cursor(cursor, total)
    except ValueError as exc:
        raise invalid(str(exc), code="invalid_cursor") from None
