"""Checks of what a workflow's queries return. An envelope off the contract (a page that is not a page, changes out
of order) raises InvalidReleaseData; a snapshot row off the contract only makes its node unreadable."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..contract.shapes import ChangesResult, ChangeView, SnapshotPage
from ..domain.ids import EntityId, EntityType, InvalidEntityId, well_formed_type
from ..domain.plan import EntityRow
from ..domain.states import InvalidState, validate_state
from ..domain.tree import MAX_PROBLEMS
from .errors import InvalidReleaseData


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


M = TypeVar("M", bound=_Strict)


class _SnapshotModel(_Strict):
    version: int = Field(ge=0)
    total: int = Field(ge=0)
    rows: list[Any]  # Any: each row is checked by SnapshotChecker, in one pass with the hierarchy
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


def snapshot_page(release_id: str, raw: object) -> SnapshotPage:
    """A snapshot page's envelope (version, total, cursor, a list of rows); the rows are for SnapshotChecker."""
    model = _parse(release_id, "snapshot", _SnapshotModel, raw)
    return SnapshotPage(version=model.version, total=model.total, rows=model.rows, next_cursor=model.next_cursor)


def changes_result(release_id: str, raw: object, since: int) -> ChangesResult:
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
    """Checks snapshot rows page by page, in one pass, and places each row in the hierarchy built so far.

    A row that breaks the contract does not fail the release: its node is kept *unreadable* with the reason
    (``unreadable``; the tree marks its subtree too) — wrong types, a bad state or time, a parent not listed before
    it (placed under the release), a parent of the wrong type (placed under that parent), an id listed twice (the
    first node is marked, the second row dropped). A row whose own id cannot be read cannot be placed: it is only
    counted (``unplaced``, with the first reasons in ``problems``). Only the release's own row must be right (first,
    parentless, a readable state): without it there is nothing to show, and ``check`` raises InvalidReleaseData.

    Pure Python with no I/O and O(rows), so a mirror can run it in a thread while the next page is being fetched.
    """

    def __init__(self, release_id: str) -> None:
        self.release_id = release_id
        self.known: dict[str, EntityType] = {}
        self.unreadable: dict[str, str] = {}
        """Ids of placed nodes whose own row is off the contract, with the reason."""
        self.unplaced = 0
        self.problems: list[str] = []
        """Why the first rows that could not be placed were dropped (at most MAX_PROBLEMS)."""
        self._states: set[str] = set()
        self._times: set[str] = set()

    def check(self, rows: list[Any]) -> list[EntityRow]:  # Any: rows as the workflow sent them, checked here
        """The next page's rows as they go into the tree (an unreadable row's state/time may be None)."""
        release_id, known, unreadable = self.release_id, self.known, self.unreadable
        states, times = self._states, self._times
        placed: list[EntityRow] = []
        for row in rows:
            if type(row) is list and len(row) == 4:
                entity_id, parent, state, updated_at = row
                shape = None
            else:
                entity_id, parent, state, updated_at = _loose_row(row)
                shape = f"row {str(row)[:80]} is not [id, parent, state, updated_at]"
            type_name = well_formed_type(entity_id) if type(entity_id) is str else None
            if type_name is None:
                self._unplaced(f"row {str(row)[:80]} has no valid id")
                continue
            if not known:
                self._check_root(entity_id, parent, shape, state, updated_at)
            kind = _TYPE_BY_NAME[type_name]
            if entity_id in known:
                unreadable[entity_id] = "listed twice in the snapshot"
                if entity_id == release_id:
                    _broken(release_id, f"snapshot: {entity_id} appears twice")
                continue
            reason = shape
            if parent is None:
                if known:
                    reason = reason or "has no parent but is not the release"
                    parent = release_id
            else:
                parent_kind = known.get(parent) if type(parent) is str else None
                if parent_kind is None:
                    reason = reason or f"its parent {str(parent)[:140]} is not listed before it"
                    parent = release_id
                elif _CHILD_TYPE[parent_kind] is not kind:
                    reason = reason or f"{entity_id} cannot be a child of {parent}"
            if reason is None and not (
                type(state) is str and state in states
                and (updated_at is None or (type(updated_at) is str and updated_at in times))
            ):
                reason = self._value_problem(state, updated_at)  # a value not seen before (rare): check it
            known[entity_id] = kind
            if reason is None:
                placed.append(row)  # as it came: [id, parent, state, updated_at]
            else:
                unreadable[entity_id] = reason
                state = state if type(state) is str else None
                updated_at = updated_at if type(updated_at) is str else None
                placed.append((entity_id, parent, state, updated_at))
        return placed

    # Any: (here and in _value_problem) a row's values as the workflow sent them, checked here
    def _check_root(self, entity_id: str, parent: Any, shape: str | None, state: Any, updated_at: Any) -> None:
        """The first row must be the release itself, readable: otherwise nothing of it can be shown."""
        release_id = self.release_id
        if entity_id != release_id or parent is not None:
            _broken(release_id, f"snapshot: the first row is {entity_id}, not the release {release_id}")
        reason = shape or self._value_problem(state, updated_at)
        if reason is not None:
            _broken(release_id, f"snapshot: the release's own row cannot be read: {reason}")

    def _value_problem(self, state: Any, updated_at: Any) -> str | None:  # Any: as in _check_root
        """Why a row's state or time is off the contract, or None (each distinct value is checked once)."""
        if type(state) is not str:
            return f"state {str(state)[:40]} is not a string"
        if state not in self._states:
            try:
                validate_state(state)
            except InvalidState as exc:
                return str(exc)
            self._states.add(state)
        if updated_at is not None and (type(updated_at) is not str or updated_at not in self._times):
            if not _is_time(updated_at):
                return f"updated_at {str(updated_at)[:40]!r} is not an ISO 8601 time"
            self._times.add(updated_at)
        return None

    def _unplaced(self, problem: str) -> None:
        self.unplaced += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def _loose_row(row: Any) -> tuple[Any, Any, Any, Any]:  # Any: a row of unknown shape, and what is read of it
    """What can be read of a row of the wrong shape: its id and parent if it is a list or tuple at all."""
    if type(row) not in (list, tuple):
        return None, None, None, None
    parts = [*row[:2], None, None][:2]
    return parts[0], parts[1], None, None


def _parse(release_id: str, query: str, model: type[M], raw: object) -> M:
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
    if not _is_time(value):
        _broken(release_id, f"{entity_id}: updated_at {str(value)[:40]!r} is not an ISO 8601 time")


def _is_time(value: object) -> bool:
    """An ``updated_at`` must be an ISO 8601 time (it is shown, sorted and exported as one)."""
    try:
        datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _broken(release_id: str, reason: str) -> NoReturn:
    raise InvalidReleaseData(f"{release_id} returned invalid data: {reason}")
