"""Strict checks of what a workflow's queries return: anything off the contract raises InvalidReleaseData."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..contract.shapes import ChangesResult, ChangeView, SnapshotPage
from ..domain.ids import EntityId, EntityType, InvalidEntityId, well_formed_type
from ..domain.states import InvalidState, validate_state
from .errors import InvalidReleaseData


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class _SnapshotModel(_Strict):
    version: int = Field(ge=0)
    total: int = Field(ge=0)
    rows: list[Any]  # each row is checked by SnapshotChecker, in one pass with the hierarchy
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
    """A snapshot page's envelope (version, total, cursor, a list of rows); the rows are for SnapshotChecker."""
    model = _parse(release_id, "snapshot", _SnapshotModel, raw)
    return SnapshotPage(version=model.version, total=model.total, rows=model.rows, next_cursor=model.next_cursor)


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
        _check_time(release_id, change.id, change.updated_at)
        previous = change.version
        changes.append(ChangeView(change.version, change.id, change.state, change.updated_at))
    if not model.reload and model.version < since:
        _broken(release_id, f"changes: version {model.version} is older than {since}")
    return ChangesResult(version=model.version, reload=model.reload, more=model.more, changes=changes)


_CHILD_TYPE: dict[EntityType, EntityType | None] = {t: t.child_type for t in EntityType}
_TYPE_BY_NAME: dict[str, EntityType] = {t.value: t for t in EntityType}


class SnapshotChecker:
    """Checks snapshot rows page by page, in one pass: each row well-formed (id, parent, state, ISO time) and in
    its place in the hierarchy built so far (release first, each child one level below its already listed parent).

    Pure Python with no I/O, so a mirror can run it in a thread while the next page is being fetched.
    """

    def __init__(self, release_id: str) -> None:
        self.release_id = release_id
        self.known: dict[str, EntityType] = {}
        self._states: set[str] = set()
        self._times: set[str] = set()

    def check(self, rows: list[Any]) -> None:
        """Check the next page's rows (InvalidReleaseData naming the first problem)."""
        release_id, known = self.release_id, self.known
        for row in rows:
            if type(row) is not list or len(row) != 4:
                _broken(release_id, f"snapshot: row {str(row)[:80]} is not [id, parent, state, updated_at]")
            entity_id, parent, state, updated_at = row
            type_name = well_formed_type(entity_id)
            if type_name is None:
                _check_id(release_id, entity_id)
                _broken(release_id, f"snapshot: row {str(row)[:80]} has no valid id")
            kind = _TYPE_BY_NAME[type_name]
            if entity_id in known:
                _broken(release_id, f"snapshot: {entity_id} appears twice")
            if parent is None:
                if kind is not EntityType.RELEASE or known or entity_id != release_id:
                    _broken(release_id, f"snapshot: {entity_id} has no parent but is not the release {release_id}")
            else:
                parent_kind = known.get(parent) if type(parent) is str else None
                if parent_kind is None:
                    if type(parent) is str:
                        _check_id(release_id, parent)
                    _broken(release_id, f"snapshot: parent {parent} of {entity_id} is not listed before it")
                if _CHILD_TYPE[parent_kind] is not kind:
                    _broken(release_id, f"snapshot: {entity_id} cannot be a child of {parent}")
            if state not in self._states:
                _check_state(release_id, entity_id, state)
                self._states.add(state)
            if updated_at is not None and updated_at not in self._times:
                _check_time(release_id, entity_id, updated_at)
                self._times.add(updated_at)
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


def _check_time(release_id: str, entity_id: str, value: object) -> None:
    """An ``updated_at`` must be an ISO 8601 time (it is shown, sorted and exported as one)."""
    try:
        datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        _broken(release_id, f"{entity_id}: updated_at {str(value)[:40]!r} is not an ISO 8601 time")


def _broken(release_id: str, reason: str) -> NoReturn:
    raise InvalidReleaseData(f"{release_id} returned invalid data: {reason}")
