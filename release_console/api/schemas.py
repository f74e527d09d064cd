"""Response models of the read API, with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..contract.shapes import JsonObject
from ..domain.tree import Counts

Responses = dict[int | str, dict[str, Any]]  # Any: FastAPI's type of a route's ``responses``

_COUNTS_EXAMPLE = {
    "wave": {"deploying": 1},
    "cluster": {"deployed": 1, "pending": 1},
    "app": {"deployed": 3, "pending": 3},
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:  # Any: pydantic's JsonDict, nested literals don't infer as it
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class RequestProblem(BaseModel):
    """One problem of a request that could not be read: where (``["query", "limit"]``), what and its kind."""

    loc: list[str]
    msg: str
    type: str | None = None


class ErrorResponse(BaseModel):
    """Every error: a message for people and a stable code for programs."""

    model_config = _examples({"detail": "release release:rel-404 not found", "code": "release_not_found"})
    detail: str
    code: str
    errors: list[RequestProblem] | None = Field(
        None, description="A 422 `invalid_parameter` for a request FastAPI could not read: every problem found."
    )


class Freshness(BaseModel):
    """How current an answer is: the workflow's state version and when the console last confirmed it."""

    version: int = Field(description="Workflow state version the answer reflects (grows with every applied batch).")
    as_of: datetime = Field(description="When the console last confirmed this data with Temporal (UTC).")
    stale: bool = Field(False, description="True when the latest refresh failed; the data shown is the last known.")
    stale_reason: str | None = None


class ReleaseListItemOut(BaseModel):
    """One release in the list."""

    model_config = _examples(
        {
            "id": "release:rel-001",
            "state": "deploying",
            "status": "running",
            "updated_at": "2025-01-31T10:15:00Z",
            "counts": _COUNTS_EXAMPLE,
            "progress": 50,
            "apps_total": 6,
            "apps_done": 3,
            "version": 7,
            "start_time": "2025-01-31T09:00:00Z",
            "close_time": None,
            "workflow_type": "ReleaseWorkflow",
        }
    )
    id: str
    state: str
    status: str = Field(description="Workflow status: running, completed, failed, terminated, canceled, timed_out.")
    updated_at: str | None
    counts: Counts
    progress: int = Field(ge=0, le=100, description="Percentage of apps done.")
    apps_total: int
    apps_done: int
    version: int | None
    start_time: datetime | None
    close_time: datetime | None
    workflow_type: str = Field(description="The release's workflow type (one of RELEASE_WORKFLOW_TYPES).")


class ReleaseListResponse(BaseModel):
    """A page of releases, newest first."""

    items: list[ReleaseListItemOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")
    as_of: datetime | None = Field(description="When the list was last read from Temporal visibility.")
    stale: bool = False
    stale_reason: str | None = None


class EntityNode(BaseModel):
    """One entity with its rollups; ``children`` holds the first page of children when expanded."""

    model_config = _examples(
        {
            "id": "cluster:rel-001-w1-c1",
            "type": "cluster",
            "state": "deploying",
            "updated_at": "2025-01-31T10:15:00Z",
            "parent": "wave:rel-001-w1",
            "counts": {"bundle": {"deploying": 1}, "app": {"deployed": 2, "pending": 1}},
            "progress": 66,
            "child_count": 1,
            "children": None,
            "next_cursor": None,
        }
    )
    id: str
    type: str
    state: str | None = Field(description="The entity's state; null only when it could not be read (see `error`).")
    updated_at: str | None
    parent: str | None
    counts: Counts
    progress: int = Field(ge=0, le=100, description="Percentage of the apps below (or of this app) that are done.")
    child_count: int
    error: str | None = Field(
        None,
        description="Only on a node the console could not read (its row broke the query contract, or an ancestor's "
        "did; an orphan is placed under the release): why. Such a node has `state: null`, empty `counts` and counts "
        "in no ancestor's rollups.",
    )
    children: list[EntityNode] | None = Field(
        None, description="First children shown (null when none is shown: not expanded, or left out by a bound)."
    )
    next_cursor: str | None = Field(
        None,
        description="Cursor for GET .../entities/{id}/children whenever not every child is shown (`o:0` when none "
        "is); null when all are.",
    )


class ReleaseDetail(Freshness):
    """A release with its hierarchy down to ``depth`` levels."""

    model_config = _examples(
        {
            "id": "release:rel-001",
            "type": "release",
            "state": "deploying",
            "status": "running",
            "updated_at": "2025-01-31T10:15:00Z",
            "counts": _COUNTS_EXAMPLE,
            "progress": 50,
            "apps_total": 6,
            "apps_done": 3,
            "entity_count": 12,
            "child_count": 1,
            "children": [],
            "next_cursor": None,
            "depth": 1,
            "truncated": False,
            "partial": False,
            "final_summary": None,
            "unreadable": 0,
            "unplaced": 0,
            "problems": [],
            "version": 7,
            "as_of": "2025-01-31T10:15:01Z",
            "stale": False,
            "stale_reason": None,
        }
    )
    id: str
    type: str = "release"
    state: str
    status: str
    updated_at: str | None
    counts: Counts
    progress: int
    apps_total: int
    apps_done: int
    entity_count: int
    child_count: int
    children: list[EntityNode]
    next_cursor: str | None
    depth: int
    truncated: bool = Field(
        False, description="True when a bound (60 KiB without `depth`, else 5,000 nodes) stopped the expansion early."
    )
    partial: bool = Field(False, description="True when only the memo's summary of a closed release could be read.")
    final_summary: JsonObject | None = Field(None, description="The memo summary of a closed release.")
    unreadable: int = Field(
        0, description="Nodes that could not be read (in the tree with `state: null` and `error`; in no rollup)."
    )
    unplaced: int = Field(0, description="Rows of the release that could not be placed in the tree (no valid id).")
    problems: list[str] = Field(
        default_factory=list, description="The first (at most 10) problems found in the release's data."
    )


class EntityRef(BaseModel):
    """A short reference to another entity."""

    id: str
    type: str
    state: str | None = Field(description="Null when that entity could not be read.")


class EntityResponse(Freshness):
    """One entity, where it sits (release, parent, path) and its rollups."""

    model_config = _examples(
        {
            "release_id": "release:rel-001",
            "entity": EntityNode.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
            "parent": {"id": "wave:rel-001-w1", "type": "wave", "state": "deploying"},
            "path": ["release:rel-001", "wave:rel-001-w1"],
            "version": 7,
            "as_of": "2025-01-31T10:15:01Z",
            "stale": False,
            "stale_reason": None,
        }
    )
    release_id: str
    entity: EntityNode
    parent: EntityRef | None
    path: list[str] = Field(description="Ancestor ids from the release down to the parent.")


class ChildrenResponse(Freshness):
    """A page of one entity's children."""

    release_id: str
    parent_id: str
    items: list[EntityNode]
    total: int = Field(description="Number of children matching the state filter.")
    next_cursor: str | None


class EntityHolder(BaseModel):
    """One release holding an entity, and the entity's state there."""

    release_id: str
    state: str | None = Field(description="The entity's state in that release (null: its row could not be read).")
    as_of: datetime = Field(description="When this state was confirmed with Temporal: the release's last poll "
                            "(`source: mirror`) or when the release was indexed (`source: index`).")
    current: bool = Field(description="True when `state` is current: the console follows the release (mirror), or "
                          "the release had already closed when it was indexed (its states are final).")
    source: str = Field(description="`mirror` (the console follows the release) or `index` (the entity index).")


class IndexCoverage(BaseModel):
    """How much the entity index covered when it answered a lookup across releases."""

    complete: bool = Field(True, description="True when every listed release is indexed: no holder can be missing.")
    indexed: int = Field(0, description="Releases indexed so far.")
    total: int = Field(0, description="Releases in visibility.")
    unreadable: int = Field(0, description="Releases whose snapshot could not be read (retried later, with backoff).")


_HOLDER_EXAMPLE = {"release_id": "release:rel-001", "state": "deploying", "as_of": "2025-01-31T10:15:01Z",
                   "current": True, "source": "mirror"}
_COVERAGE_EXAMPLE = {"complete": True, "indexed": 5000, "total": 5000, "unreadable": 0}


class LocatedEntity(EntityResponse, IndexCoverage):
    """An entity found in exactly one release: the entity as its release's mirror has it, plus the lookup's holders
    and the index's coverage."""

    model_config = _examples({
        **EntityResponse.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index,dict-item]
        "holders": [_HOLDER_EXAMPLE], **_COVERAGE_EXAMPLE,
    })
    holders: list[EntityHolder] = Field(description="Every release holding the entity (here: the one).")


class EntityNotLocated(ErrorResponse, IndexCoverage):
    """No indexed release holds the entity (while `complete` is false, a release not indexed yet still may)."""


class AmbiguousEntity(ErrorResponse, IndexCoverage):
    """An entity id found in more than one release."""

    candidates: list[str] = Field(description="The holders' release ids, sorted.")
    holders: list[EntityHolder] = Field(default_factory=list, description="The holders with the entity's state.")


class EntityIndexStats(BaseModel):
    """Progress and cost of the entity index."""

    ready: bool = Field(description="The index file is open and compared with the release list.")
    complete: bool
    indexed: int
    total: int
    unreadable: int = Field(description="Listed releases whose snapshot could not be read (retried with backoff).")
    reading: int = Field(description="Releases being read right now.")
    queries: int = Field(description="Snapshot pages asked for since start, at most ENTITY_INDEX_QUERIES_PER_SECOND "
                         "(counted here only, not in `calls`).")
    query_failures: int
    entities: int = Field(description="Entity rows of the indexed releases.")
    file_bytes: int = Field(description="Size of the index file on disk.")


class HealthResponse(BaseModel):
    """Liveness."""

    model_config = _examples({"status": "ok"})
    status: str


class ReadyResponse(BaseModel):
    """Readiness: Temporal reachable."""

    model_config = _examples({"status": "ready", "temporal": "ok"})
    status: str
    temporal: str


class MirrorStats(BaseModel):
    """One release mirror kept by the read path."""

    release_id: str
    version: int
    status: str
    listeners: int
    stale: bool
    as_of: datetime


class LoopLag(BaseModel):
    """How late a 50 ms ticker on the console's event loop woke up, over the last minute (milliseconds)."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int
    gc_full_collections: int = Field(0, description="Full garbage collections since start (each holds the loop).")
    gc_full_max_ms: float = Field(0.0, description="The longest full garbage collection since start.")


class PollLatency(BaseModel):
    """How long the last minute's ``changes`` polls of watched releases took, until their answer was read on the
    event loop (milliseconds)."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int


class StatsResponse(BaseModel):
    """Counts of Temporal calls made by the read path since start-up."""

    model_config = _examples(
        {
            "since": "2025-01-31T09:00:00Z",
            "total": 42,
            "queries": 30,
            "calls": {"describe": 3, "list": 9, "query:changes": 27, "query:snapshot": 3},
            "failures": {},
            "mirrors": [],
            "release_list_size": 3,
            "loop_lag": {"p50_ms": 0.4, "p99_ms": 3.1, "max_ms": 9.8, "samples": 1200},
            "poll_latency": {"p50_ms": 6.2, "p99_ms": 21.0, "max_ms": 35.4, "samples": 1000},
        }
    )
    since: datetime
    total: int
    queries: int
    calls: dict[str, int]
    failures: dict[str, int]
    mirrors: list[MirrorStats]
    release_list_size: int
    loop_lag: LoopLag
    poll_latency: PollLatency | None = Field(None, description="None when no release was polled in the last minute.")
    entity_index: EntityIndexStats | None = Field(None, description="None before the index has started.")


class ExportRow(BaseModel):
    """One entity in an export."""

    id: str
    type: str
    parent: str | None
    state: str | None = Field(description="Null only for a node that could not be read (see `error`).")
    updated_at: str | None
    error: str | None = Field(None, description="Why the node could not be read; null for every readable node.")


class ExportResponse(Freshness):
    """Every entity of a release, parents before children."""

    release_id: str
    entities: list[ExportRow]
