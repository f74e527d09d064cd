"""REST answers as bytes, built with orjson straight from a mirror's domain tree and shared per mirror version.

One event loop serves everything, so answers are built in slices that yield to it (``SLICE_NODES`` nodes or
``SLICE_ROWS`` export rows at a time, a few milliseconds each). A build restarts when the mirror changes between two
slices, so an answer never mixes versions. Readers of the same (mirror version, parameters) share one build: 100
clients reading the same version cost one serialization. Only the freshness fields (``as_of``, ``stale``), which
change with every poll, are appended per request.
"""

from __future__ import annotations

import asyncio
import csv
import io
import weakref
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from ..contract.cursors import offset_cursor
from ..domain.ids import EntityType
from ..domain.summary import release_overview
from ..domain.tree import Entity, ReleaseTree, progress_percent
from ..readpath.mirror import ReleaseMirror
from .reading import find_entity

T = TypeVar("T")
Build = Generator[None, None, T]
"""A sliced build: yields between slices (the mirror may change there), returns its result."""

SLICE_NODES = 500
SLICE_ROWS = 1000
MAX_RESTARTS = 4
"""A build that saw the mirror change this often runs once more without yielding (a few tens of ms at most)."""
MAX_CACHED_ANSWERS = 64
MAX_CACHED_BYTES = 64 * 1024 * 1024
"""Per mirror: serialized answers kept for the current version."""
JSON = "application/json"
SPLIT_ANSWER_BYTES = 64 * 1024
"""Answers at least this big are sent without joining the cached bytes and the per-request tail."""
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""OWASP's CSV injection rule: a cell starting with one of these is prefixed with ``'``."""


def dumps(value: Any) -> bytes:
    """JSON bytes (datetimes as RFC 3339 with ``Z``, like the response models)."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


# ---- building blocks -------------------------------------------------------------------------------
def node_fields(entity: Entity) -> dict[str, Any]:
    """An entity's fields as in ``EntityNode``, without ``children``/``next_cursor``; ``error`` only on an unreadable
    node (whose ``state`` is null)."""
    fields = {
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


def problems_fields(tree: ReleaseTree) -> dict[str, Any]:
    """What a release answer says about data the console could not read: ``unreadable`` nodes (in the tree, state
    null, with their ``error``), ``unplaced`` rows (no valid id: not in the tree) and the first ``problems``."""
    return {"unreadable": tree.unreadable, "unplaced": tree.unplaced, "problems": tree.problems}


def freshness_tail(mirror: ReleaseMirror) -> bytes:
    """``,"as_of":…,"stale":…,"stale_reason":…}``: the per-poll part of every answer, closing the object."""
    return b"," + dumps(freshness(mirror))[1:]


def freshness(mirror: ReleaseMirror) -> dict[str, Any]:
    """``as_of``, ``stale`` and ``stale_reason`` of an answer from this mirror now."""
    reason = mirror.error.message if mirror.error else None
    return {"as_of": mirror.as_of, "stale": mirror.stale, "stale_reason": reason}


def data_key(mirror: ReleaseMirror) -> tuple[int, int, str, bool]:
    """What an answer's cached part depends on: the tree object, its version, the status, partial or not."""
    return id(mirror.tree), mirror.version, mirror.status, mirror.partial


# ---- slicing and sharing ---------------------------------------------------------------------------
async def run_sliced(mirror: ReleaseMirror, make: Callable[[], Build[T]]) -> T:
    """Run a sliced build, yielding to the loop between slices; restart it when the mirror changed meanwhile."""
    for _attempt in range(MAX_RESTARTS):
        key = data_key(mirror)
        build = make()
        try:
            while True:
                next(build)
                await asyncio.sleep(0)
                if data_key(mirror) != key:
                    break
        except StopIteration as finished:
            return finished.value
    build = make()
    try:
        while True:
            next(build)
    except StopIteration as finished:
        return finished.value


@dataclass
class _Cached:
    key: tuple[int, int, str, bool]
    task: asyncio.Task[Any]
    size: int = 0


class AnswerCache:
    """One mirror's serialized answers for its current version, keyed by request parameters."""

    def __init__(self) -> None:
        self.entries: dict[Hashable, _Cached] = {}
        self.builds = 0
        """How many answers were built (tests: many readers of one version cost one build)."""

    async def get(self, mirror: ReleaseMirror, params: Hashable, make: Callable[[], Build[T]]) -> T:
        """The answer for ``params``, built once per mirror version whatever the number of readers."""
        key = data_key(mirror)
        cached = self.entries.get(params)
        if cached is None or cached.key != key or _failed(cached.task):
            self._make_room()
            self.builds += 1
            task = asyncio.create_task(run_sliced(mirror, make), name=f"answer {mirror.release_id}")
            cached = self.entries[params] = _Cached(key, task)
            task.add_done_callback(lambda t, c=cached: _record_size(c, t))
        return await asyncio.shield(cached.task)

    def _make_room(self) -> None:
        while self.entries and (
            len(self.entries) >= MAX_CACHED_ANSWERS or sum(c.size for c in self.entries.values()) > MAX_CACHED_BYTES
        ):
            del self.entries[next(iter(self.entries))]


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _record_size(cached: _Cached, task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is None:
        result = task.result()
        cached.size = len(result)


_caches: weakref.WeakKeyDictionary[ReleaseMirror, AnswerCache] = weakref.WeakKeyDictionary()


def cache_of(mirror: ReleaseMirror) -> AnswerCache:
    """The answer cache of a mirror (it goes away with the mirror)."""
    cache = _caches.get(mirror)
    if cache is None:
        cache = _caches[mirror] = AnswerCache()
    return cache


def json_response(body_open: bytes, mirror: ReleaseMirror) -> Response:
    """A cached answer (its object left open) closed with this moment's freshness fields."""
    tail = freshness_tail(mirror)
    if len(body_open) < SPLIT_ANSWER_BYTES:
        return Response(body_open + tail, media_type=JSON)
    return SplitAnswer(body_open, tail)


class SplitAnswer(Response):
    """A large cached answer sent as two body messages, the shared bytes and then this request's freshness tail,
    so the cached bytes (a full release detail is a few MB) are not copied for every request."""

    media_type = JSON

    def __init__(self, shared: bytes, tail: bytes) -> None:
        self.shared = shared
        super().__init__(tail, headers={"content-length": str(len(shared) + len(tail))})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.shared, "more_body": True})
        await send({"type": "http.response.body", "body": self.body})


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
    entity = find_entity(mirror, entity_id)
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


# ---- export ----------------------------------------------------------------------------------------
EXPORT_COLUMNS = ("id", "type", "parent", "state", "updated_at", "error")


@dataclass(frozen=True)
class ExportBody:
    """Every entity's row as chunks of CSV (header included) or of a JSON array's items, at one version."""

    version: int
    chunks: list[bytes]

    def __len__(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


def build_export(mirror: ReleaseMirror, fmt: str) -> Build[ExportBody]:
    """Every entity, parents before children, one chunk per SLICE_ROWS rows."""
    tree: ReleaseTree = mirror.tree
    everything = list(tree.entities.values())
    chunks: list[bytes] = [",".join(EXPORT_COLUMNS).encode() + b"\r\n"] if fmt == "csv" else []
    for start in range(0, len(everything), SLICE_ROWS):
        rows = everything[start : start + SLICE_ROWS]
        if fmt == "csv":
            chunks.append(_csv_rows(rows))
        else:
            body = dumps([_export_row(e) for e in rows])[1:-1]
            chunks.append(b"," + body if start else body)
        yield
    return ExportBody(mirror.version, chunks)


def export_json_head(mirror: ReleaseMirror, version: int) -> bytes:
    """The JSON export's opening up to ``"entities":[`` with this moment's freshness."""
    head = {"release_id": mirror.release_id, "version": version, **freshness(mirror)}
    return dumps(head)[:-1] + b',"entities":['


def _export_row(entity: Entity) -> dict[str, Any]:
    return {
        "id": entity.id,
        "type": entity.type.value,
        "parent": entity.parent,
        "state": entity.state,
        "updated_at": entity.updated_at,
        "error": entity.error,
    }


def _csv_rows(rows: list[Entity]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(
        [e.id, e.type.value, e.parent or "", csv_safe(e.state or ""), csv_safe(e.updated_at or ""),
         csv_safe(e.error or "")]
        for e in rows
    )
    return buffer.getvalue().encode()


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix ``'`` to a leading = + - @ tab or CR)."""
    return "'" + cell if cell.startswith(CSV_FORMULA_START) else cell
