"""Strict checks of what a workflow's queries return: anything off the contract raises InvalidReleaseData."""

from __future__ import annotations

from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain.ids import EntityId, EntityType, InvalidEntityId, entity_type_of, well_formed_type
from ..domain.states import InvalidState, validate_state
from ..workflows.contract import ChangesResult, ChangeView, SnapshotPage
from .errors import InvalidReleaseData

Row = tuple[str, str | None, str, str | None]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class _SnapshotModel(_Strict):
    version: int = Field(ge=0)
    total: int = Field(ge=0)
    rows: list[list[str | None]]
    next_cursor: str | None = None


class _ChangeModel(_Strict):
    version: int = Field(ge=0)
    id: str
    state: str
    updated_at: str


class _ChangesModel(_Strict):
    version: int = Field(ge=0)
    reload: bool
    more: bool
    changes: list[_ChangeModel]


def snapshot_page(release_id: str, raw: Any) -> SnapshotPage:
    """A validated snapshot page (rows checked one by one)."""
    model = _parse(release_id, "snapshot", _SnapshotModel, raw)
    rows = [list(check_row(release_id, row)) for row in model.rows]  # type: ignore[arg-type]
    return SnapshotPage(version=model.version, total=model.total, rows=rows, next_cursor=model.next_cursor)


def changes_result(release_id: str, raw: Any, since: int) -> ChangesResult:
    """A validated changes result: versions ascending, above ``since`` and at most ``version``."""
    model = _parse(release_id, "changes", _ChangesModel, raw)
    previous = since
    changes: list[ChangeView] = []
    for change in model.changes:
        if not previous <= change.version <= model.version or change.version <= since:
            _broken(release_id, f"changes: version {change.version} out of order (after {since}, to {model.version})")
        _check_id(release_id, change.id)
        _check_state(release_id, change.id, change.state)
        previous = change.version
        changes.append(ChangeView(change.version, change.id, change.state, change.updated_at))
    if not model.reload and model.version < since:
        _broken(release_id, f"changes: version {model.version} is older than {since}")
    return ChangesResult(version=model.version, reload=model.reload, more=model.more, changes=changes)


def check_row(release_id: str, row: list[str | None]) -> Row:
    """One snapshot row ``[id, parent, state, updated_at]``: a valid id, a parent id or None, a valid state."""
    if len(row) != 4 or row[0] is None or row[2] is None:
        _broken(release_id, f"snapshot: row {str(row)[:80]} is not [id, parent, state, updated_at]")
    entity_id, parent, state, updated_at = row
    _check_id(release_id, entity_id)
    if parent is not None:
        _check_id(release_id, parent)
    _check_state(release_id, entity_id, state)
    return entity_id, parent, state, updated_at


def check_tree_row(release_id: str, row: Row, known: dict[str, EntityType]) -> None:
    """A row fits the hierarchy built so far: release first, each child one level below its known parent."""
    entity_id, parent, _state, _at = row
    kind = entity_type_of(entity_id)  # check_row has vetted the id
    if entity_id in known:
        _broken(release_id, f"snapshot: {entity_id} appears twice")
    if parent is None:
        if kind is not EntityType.RELEASE or known or entity_id != release_id:
            _broken(release_id, f"snapshot: {entity_id} has no parent but is not the release {release_id}")
    elif parent not in known:
        _broken(release_id, f"snapshot: parent {parent} of {entity_id} is not listed before it")
    elif known[parent].child_type is not kind:
        _broken(release_id, f"snapshot: {entity_id} cannot be a child of {parent}")
    known[entity_id] = kind


def entity_found(release_id: str, entity_id: str, raw: Any) -> bool:
    """Whether an ``entity`` query answer holds the entity: null means absent, else an object with that id."""
    if raw is None:
        return False
    if not isinstance(raw, dict) or raw.get("id") != entity_id:
        _broken(release_id, f"entity: expected null or the entity {entity_id}, got {str(raw)[:80]}")
    return True


def _parse(release_id: str, query: str, model: type[_Strict], raw: Any) -> Any:
    if not isinstance(raw, dict):
        _broken(release_id, f"{query}: expected an object, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        _broken(release_id, f"{query}: {where}: {first['msg']}")


def _check_id(release_id: str, entity_id: str) -> None:
    if well_formed_type(entity_id) is not None:
        return
    try:
        EntityId.parse(entity_id)
    except InvalidEntityId as exc:
        _broken(release_id, str(exc))


def _check_state(release_id: str, entity_id: str, state: str) -> None:
    try:
        validate_state(state)
    except InvalidState as exc:
        _broken(release_id, f"{entity_id}: {exc}")


def _broken(release_id: str, reason: str) -> NoReturn:
    raise InvalidReleaseData(f"{release_id} returned invalid data: {reason}")
