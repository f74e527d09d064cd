"""Shared helpers of the read routes: parameter checks (before any Temporal call)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from ..contract.cursors import parse_offset_cursor
from ..domain.ids import MAX_ENTITY_ID_LENGTH, MAX_ID_PART_LENGTH, TYPE_NAMES, EntityId, EntityType, InvalidEntityId
from ..domain.states import MAX_STATE_LENGTH, InvalidState, validate_state
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

_N = MAX_ID_PART_LENGTH
ID_PART_PATTERN = (
    rf"(?:[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{_N - 1}}}"
    rf"|\.[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{_N - 2}}}"
    rf"|\.\.[A-Za-z0-9._-]{{1,{_N - 2}}})"
)
"""What :meth:`EntityId.parse` accepts after ``type:`` (1–128 of A-Z a-z 0-9 . _ -, not '.' or '..'), without a
lookahead, for the OpenAPI document (the route still checks with parse_id, answering 422 ``invalid_id``)."""
RELEASE_ID_PATTERN = rf"^release:{ID_PART_PATTERN}$"
ENTITY_ID_PATTERN = rf"^(?:{'|'.join(TYPE_NAMES)}):{ID_PART_PATTERN}$"
STATE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
"""Printable and not blank (validate_state; other non-printable characters are refused too)."""
OFFSET_CURSOR_PATTERN = r"^(?:o:[0-9]{1,9})?$"
LIST_CURSOR_PATTERN = r"^[A-Za-z0-9_=-]{0,400}$"

ReleaseIdPath = Annotated[
    str,
    Path(
        description="A release id, `release:<id>` (422 `invalid_id` otherwise).",
        json_schema_extra={"pattern": RELEASE_ID_PATTERN, "minLength": 9, "maxLength": MAX_ENTITY_ID_LENGTH},
    ),
]
"""Documented only: parse_id() checks it, so a malformed id keeps its 422 ``invalid_id`` answer."""
EntityIdPath = Annotated[
    str,
    Path(
        description="An entity id, `type:id` (`wave:…`, `cluster:…`, `bundle:…`, `app:…` or `release:…`; 422 "
        "`invalid_id` otherwise).",
        json_schema_extra={"pattern": ENTITY_ID_PATTERN, "minLength": 5, "maxLength": MAX_ENTITY_ID_LENGTH},
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size, 1–1000.")]
StateFilter = Annotated[
    str | None,
    Query(
        max_length=MAX_STATE_LENGTH,
        description="Only entities in this state (any printable, non-blank state string, e.g. `failed`).",
        json_schema_extra={"pattern": STATE_PATTERN, "minLength": 1},
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=400,
        description="`next_cursor` of the previous page (opaque: another value answers 422 `invalid_cursor`).",
        json_schema_extra={"pattern": LIST_CURSOR_PATTERN},
    ),
]
OffsetCursor = Annotated[
    str | None,
    Query(
        max_length=400,
        description="`next_cursor` of the previous page, `o:<offset>` (past the end: 422 `invalid_cursor`).",
        json_schema_extra={"pattern": OFFSET_CURSOR_PATTERN},
    ),
]
StatusFilter = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Only releases whose workflow status matches: "
        + "; ".join(f"`{k}` = {v}" for k, v in STATUS_FILTERS.items())
        + ".",
        json_schema_extra={"enum": ["", *STATUS_FILTERS]},
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
