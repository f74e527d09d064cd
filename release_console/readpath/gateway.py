"""TemporalGateway: every read of release workflows (queries, describe, the visibility list) goes through here.

It is not the only module that calls Temporal: readpath/health.py probes the server, accounts/service.py queries
(and updates) its own AccountsWorkflow, and services.py counts releases once at start to decide on the demo.

Every call has a short deadline, is counted in ReadPathStats, and maps Temporal's errors to ReadPathError
subclasses so nothing above this module sees gRPC codes. With a TemporalHealth signal, calls short-circuit while
Temporal is down, calls in flight end as soon as it goes down, and calls failing as "unavailable" make it probe now.
Workflows are addressed by id only (no run id), so a release that continues-as-new is followed transparently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest, ListWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from ..contract.limits import MAX_CHANGES_PAGE, MAX_SNAPSHOT_PAGE
from ..contract.names import QUERY_CHANGES, QUERY_SNAPSHOT, QUERY_SUMMARY, SA_UPDATED_AT
from ..contract.shapes import ChangesRequest, ChangesResult, JsonObject, SnapshotPage, SnapshotRequest
from ..core.config import Settings
from . import validation
from .errors import (
    InvalidReleaseData,
    ListQueryRefused,
    ReadPathError,
    ReleaseNotFound,
    TemporalUnavailable,
    WorkerNotResponding,
)
from .health import TemporalHealth
from .stats import ReadPathStats
from .visibility import ListedRelease, decode_page, memo_summary, status_name, typed_summary

T = TypeVar("T")
LIST_PAGE_SIZE = 1000
HEALTH_TTL_SECONDS = 1.0
"""GET /ready shares one health call per this many seconds (and one in flight), whatever the request rate."""
CLOSED_STATUSES = frozenset({"completed", "failed", "terminated", "canceled", "timed_out", "continued_as_new"})


@dataclass(frozen=True, slots=True)
class ReleaseDescription:
    """What describe tells about a release workflow (its latest run)."""

    release_id: str
    run_id: str
    workflow_type: str
    status: str
    start_time: datetime | None
    close_time: datetime | None
    memo_summary: JsonObject | None

    @property
    def closed(self) -> bool:
        """True once the workflow will not change any more."""
        return self.status in CLOSED_STATUSES


class TemporalGateway:
    """Queries, describe and visibility list calls with deadlines, error mapping and counting."""

    def __init__(
        self, client: Client, settings: Settings, stats: ReadPathStats, health: TemporalHealth | None = None
    ) -> None:
        self.client = client
        self.settings = settings
        self.stats = stats
        self.health = health
        """The shared health signal (None: every call goes to Temporal, as in unit tests of the gateway alone)."""
        self.timeout = settings.TEMPORAL_RPC_TIMEOUT_SECONDS
        self.poll_timeout = min(settings.TEMPORAL_POLL_TIMEOUT_SECONDS, self.timeout)
        self.short_circuits = 0
        """Calls answered TemporalUnavailable without asking Temporal, because the health signal said it is down."""
        self._health: asyncio.Task[None] | None = None
        self._health_done_at = 0.0

    # ---- workflows --------------------------------------------------------------------------------
    async def describe(self, release_id: str, *, origin: str = "load") -> ReleaseDescription:
        """Status, run and memo of a release's latest run; ReleaseNotFound for other workflow types."""
        handle = self.client.get_workflow_handle(release_id)
        description = await self._call("describe", release_id, handle.describe(rpc_timeout=self._rpc_timeout), origin)
        if description.workflow_type not in self.settings.release_workflow_types:
            raise ReleaseNotFound(f"release {release_id} not found (that workflow is not a release)")
        return ReleaseDescription(
            release_id=release_id,
            run_id=description.run_id,
            workflow_type=description.workflow_type or "",
            status=status_name(description.status),
            start_time=description.start_time,
            close_time=description.close_time,
            memo_summary=memo_summary(description.raw_info),
        )

    async def snapshot(self, release_id: str, cursor: str | None, *, origin: str = "load") -> SnapshotPage:
        """One validated page of the whole tree."""
        request = SnapshotRequest(cursor=cursor, limit=MAX_SNAPSHOT_PAGE)
        return validation.snapshot_page(release_id, await self._query(release_id, QUERY_SNAPSHOT, request, origin))

    async def changes(self, release_id: str, since: int, *, origin: str = "poll") -> ChangesResult:
        """Validated changes after version ``since``."""
        request = ChangesRequest(since_version=since, limit=MAX_CHANGES_PAGE)
        started = time.perf_counter()
        # a query waits for a polling worker until its deadline: a short one shows a stopped worker quickly
        raw = await self._query(release_id, QUERY_CHANGES, request, origin, timeout=self.poll_timeout, slack=0.5)
        if origin == "poll":
            self.stats.timed_poll(time.perf_counter() - started)
        return validation.changes_result(release_id, raw, since)

    async def _query(
        self, release_id: str, name: str, arg: object, origin: str, *, timeout: float | None = None, slack: float = 2.0
    ) -> Any:  # Any: a query's answer as the SDK decodes JSON, for validation to check
        handle = self.client.get_workflow_handle(release_id)
        seconds = timeout or self.timeout
        call = handle.query(name, arg, rpc_timeout=timedelta(seconds=seconds))
        try:
            return await self._call(f"query:{name}", release_id, call, origin, seconds, slack)
        except WorkerNotResponding:
            await self.check()  # a timed-out query may mean Temporal itself is gone: say so (TemporalUnavailable)
            raise

    async def summary(self, release_id: str, *, origin: str = "list") -> JsonObject | None:
        """The ``summary`` query's typed fields (state, version, rollups…); None when it answers no object."""
        raw = await self._query(release_id, QUERY_SUMMARY, None, origin, timeout=self.poll_timeout, slack=0.5)
        return typed_summary(raw)

    # ---- visibility ---------------------------------------------------------------------------------
    async def list_releases(
        self, *, since: datetime | None = None, ids: Collection[str] = (), by_updated_at: bool = True
    ) -> list[ListedRelease]:
        """Release workflow executions in visibility (all pages; one counted call per page), each page decoded in a
        worker thread (see readpath/visibility.py).

        Without ``since``: every release. With it: those started, closed or (``by_updated_at``: the
        ``ReleaseUpdatedAt`` search attribute) updated at or after ``since``, plus every run of the ``ids`` named.
        ListQueryRefused when Temporal refuses the query (a namespace without the release search attributes).
        """
        query = release_type_filter(self.settings)
        if since is not None:
            query += " AND (" + " OR ".join(_recent_terms(since, ids, by_updated_at)) + ")"
        rows: list[ListedRelease] = []
        token = b""
        while True:
            request = ListWorkflowExecutionsRequest(
                namespace=self.client.namespace, page_size=LIST_PAGE_SIZE, next_page_token=token, query=query
            )
            call = self.client.workflow_service.list_workflow_executions(request, retry=True, timeout=self._rpc_timeout)
            page = await self._call("list", None, call)
            rows.extend(await asyncio.to_thread(decode_page, page.executions))
            token = page.next_page_token
            if not token:
                return rows

    async def check(self) -> None:
        """Raise TemporalUnavailable unless Temporal answers a cheap call (within the health probe's timeout)."""
        seconds = self.health.timeout if self.health is not None else self.timeout
        call = self.client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=seconds))
        await self._call("health", None, call, None, seconds)

    async def check_shared(self) -> None:
        """Like :meth:`check`, but concurrent callers share one call and its answer is reused for HEALTH_TTL_SECONDS.

        With the health signal no call is made at all: its probe already asks every TEMPORAL_HEALTH_SECONDS.
        """
        if self.health is not None:
            if not self.health.up:
                raise self.health.unavailable()
            return
        task = self._health
        expired = time.monotonic() - self._health_done_at > HEALTH_TTL_SECONDS
        if task is None or (task.done() and expired):
            task = self._health = asyncio.create_task(self.check(), name="temporal health")
            task.add_done_callback(self._health_finished)
        await asyncio.shield(task)

    def _health_finished(self, task: asyncio.Task[None]) -> None:
        self._health_done_at = time.monotonic()
        if not task.cancelled():
            task.exception()  # retrieved here too, so an unawaited failure is never reported as lost

    # ---- plumbing -----------------------------------------------------------------------------------
    @property
    def _rpc_timeout(self) -> timedelta:
        return timedelta(seconds=self.timeout)

    async def _call(
        self,
        kind: str,
        release_id: str | None,
        call: Awaitable[T],
        origin: str | None = None,
        timeout: float | None = None,
        slack: float = 2.0,
    ) -> T:
        """Count and make one call; it ends after ``timeout`` + ``slack`` at the latest (the SDK retries some errors
        past its own per-attempt timeout)."""
        health = self.health
        if health is not None and not health.up:
            self.short_circuits += 1
            if asyncio.iscoroutine(call):
                call.close()  # never sent
            raise health.unavailable()
        self.stats.count(kind, release_id, origin)
        deadline = (timeout or self.timeout) + slack
        try:
            if health is None:
                return await asyncio.wait_for(call, deadline)
            return await health.guard(call, deadline)
        except ReadPathError:
            self.stats.fail(kind, release_id)
            raise
        except Exception as exc:
            self.stats.fail(kind, release_id)
            error = map_error(exc, kind, release_id)
            if health is not None and isinstance(error, TemporalUnavailable):
                health.suspect()
            raise error from None


def _recent_terms(since: datetime, ids: Collection[str], by_updated_at: bool) -> list[str]:
    """The OR-ed conditions of an incremental listing (ids are release ids: checked, quote-free)."""
    moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    terms = [f'StartTime >= "{moment}"', f'CloseTime >= "{moment}"']
    if by_updated_at:
        terms.insert(0, f'{SA_UPDATED_AT.name} >= "{moment}"')
    if ids:
        terms.append("WorkflowId IN (" + ", ".join(f'"{i}"' for i in ids) + ")")
    return terms


def release_type_filter(settings: Settings) -> str:
    """The visibility query naming the release workflow types (plain names only: checked by the settings)."""
    types = settings.release_workflow_types
    if len(types) == 1:
        return f'WorkflowType = "{types[0]}"'
    return "WorkflowType IN (" + ", ".join(f'"{t}"' for t in types) + ")"


def map_error(exc: BaseException, kind: str, release_id: str | None) -> ReadPathError:
    """Translate a Temporal/SDK error into the read path's own error."""
    what = release_id or "Temporal"
    is_query = kind.startswith("query:")
    if isinstance(exc, RPCError):
        if exc.status is RPCStatusCode.NOT_FOUND and release_id is not None:
            return ReleaseNotFound(f"release {release_id} not found")
        if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) and is_query:
            return WorkerNotResponding(f"no worker answered the {kind[6:]} query of {what} in time")
        if exc.status is RPCStatusCode.FAILED_PRECONDITION and is_query:
            return WorkerNotResponding(f"{what} cannot answer queries: no worker has run it yet")
        if exc.status is RPCStatusCode.RESOURCE_EXHAUSTED:
            return WorkerNotResponding(f"Temporal is overloaded answering {what}; retry shortly")
        if exc.status is RPCStatusCode.INVALID_ARGUMENT and kind == "list":
            return ListQueryRefused(f"Temporal refused the release listing: {exc.message[:160]}")
        if exc.status is RPCStatusCode.INVALID_ARGUMENT and release_id is not None:
            return ReleaseNotFound(f"release {release_id} not found ({exc.message[:120]})")
        return TemporalUnavailable(f"Temporal did not answer ({kind}): {exc.status.name.lower()}")
    if isinstance(exc, TimeoutError):
        if is_query:
            return WorkerNotResponding(f"no worker answered the {kind[6:]} query of {what} in time")
        return TemporalUnavailable(f"Temporal did not answer ({kind}) in time")
    if isinstance(exc, WorkflowQueryFailedError):
        return InvalidReleaseData(f"{what} could not answer the {kind[6:]} query: {exc.message[:200]}")
    if isinstance(exc, WorkflowQueryRejectedError):
        return WorkerNotResponding(f"{what} rejected the query ({exc.status})")
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return InvalidReleaseData(f"{what} returned data the console cannot decode ({kind})")
    return TemporalUnavailable(f"Temporal call failed ({kind}): {type(exc).__name__}")
