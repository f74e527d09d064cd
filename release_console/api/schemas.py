"""Response models of the read API, with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..domain.tree import Counts

_COUNTS_EXAMPLE = {
    "wave": {"deploying": 1},
    "cluster": {"deployed": 1, "pending": 1},
    "app": {"deployed": 3, "pending": 3},
}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ErrorResponse(BaseModel):
    """Every error: a message for people and a stable code for programs."""

    model_config = _examples({"detail": "release release:rel-404 not found", "code": "release_not_found"})
    detail: str
    code: str


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
    state: str
    updated_at: str | None
    parent: str | None
    counts: Counts
    progress: int = Field(ge=0, le=100, description="Percentage of the apps below (or of this app) that are done.")
    child_count: int
    children: list[EntityNode] | None = Field(
        None, description="First page of children (null when not expanded because of `depth`)."
    )
    next_cursor: str | None = Field(
        None, description="Cursor for GET .../entities/{id}/children when more children exist than shown."
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
    truncated: bool = Field(False, description="True when the node budget stopped the expansion early.")
    partial: bool = Field(False, description="True when only the memo's summary of a closed release could be read.")
    final_summary: dict[str, Any] | None = Field(None, description="The memo summary of a closed release.")


class EntityRef(BaseModel):
    """A short reference to another entity."""

    id: str
    type: str
    state: str


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


class AmbiguousEntity(ErrorResponse):
    """An entity id found in more than one release."""

    candidates: list[str]


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


class ExportRow(BaseModel):
    """One entity in an export."""

    id: str
    type: str
    parent: str | None
    state: str
    updated_at: str | None


class ExportResponse(Freshness):
    """Every entity of a release, parents before children."""

    release_id: str
    entities: list[ExportRow]
