"""ReleaseWorkflow on the real dev server and worker: every query of the contract, the Update validator,
search attributes + memo, id policy, continue-as-new and completion."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.converter import DataConverter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from release_console.contract.names import (
    MEMO_SUMMARY,
    QUERY_CHANGES,
    QUERY_CHILDREN,
    QUERY_ENTITY,
    QUERY_SNAPSHOT,
    QUERY_SUMMARY,
    SA_APPS_FAILED,
    SA_APPS_TOTAL,
    SA_PROGRESS,
    SA_STATE,
    SA_UPDATED_AT,
    UPDATE_TRANSITIONS,
)
from release_console.contract.shapes import (
    ChangesRequest,
    ChangesResult,
    ChildrenPage,
    ChildrenRequest,
    EntityView,
    ReleaseSummary,
    ReleaseWorkflowInput,
    SnapshotPage,
    SnapshotRequest,
)
from release_console.domain.plan import InvalidPlan, PlanNode
from release_console.domain.states import StateKind, state_kind
from release_console.temporal.releases import build_plan, report, start_release
from tests.helpers import eventually

KIB = 1024


# ---- helpers ----------------------------------------------------------------------------------------
async def raw_query(client: Client, workflow_id: str, name: str, *args: Any) -> tuple[int, Any]:
    """Query through the raw gRPC API: (exact bytes of the result payload, decoded JSON). Asserts plain JSON."""
    request = QueryWorkflowRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=workflow_id),
        query=WorkflowQuery(
            query_type=name, query_args=Payloads(payloads=await client.data_converter.encode(list(args)))
        ),
    )
    response = await client.workflow_service.query_workflow(request, timeout=timedelta(seconds=10))
    payload = response.query_result.payloads[0]
    assert payload.metadata["encoding"] == b"json/plain", f"{name} result is not plain JSON"
    return len(payload.data), json.loads(payload.data)


async def first_workflow_task_done(handle: Any, timeout: float = 120) -> None:
    """Wait until the run's first workflow task completed; fail at once if a task failed (e.g. a deadlock).

    A failed task is retried by the worker, so a workflow whose first task is too slow never answers queries:
    this says so plainly instead of timing out in a query.
    """
    deadline = time.monotonic() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        pending = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
        if pending is None and raw.workflow_execution_info.history_length > 2:
            failures = [
                e.workflow_task_failed_event_attributes.failure.message
                async for e in handle.fetch_history_events()
                if e.HasField("workflow_task_failed_event_attributes")
            ]
            assert not failures, f"a workflow task failed: {failures[0]}"
            return
        if pending is not None and pending.attempt > 1:
            raise AssertionError(f"the first workflow task failed, now on attempt {pending.attempt}; see worker.log")
        if time.monotonic() > deadline:
            raise AssertionError(f"the first workflow task did not complete within {timeout}s")
        await asyncio.sleep(0.1)


async def memo_summary(client: Client, workflow_id: str) -> dict:
    description = await client.get_workflow_handle(workflow_id).describe()
    return await description.memo_value(MEMO_SUMMARY)


async def rejected(client: Client, release_id: str, transitions: list[tuple[str, str]]) -> str:
    """Send a batch that must be rejected; return the rejection message."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await report(client, release_id, transitions)
    return str(info.value.cause)


# ---- small release: every query and the update -------------------------------------------------------
@pytest.fixture
async def small(client, settings, unique):
    """release:s-<unique>: 2 waves × 2 clusters × 3 apps."""
    plan = build_plan(f"s-{unique}", waves=2, clusters_per_wave=2, apps_per_bundle=3)
    handle = await start_release(client, settings, plan)
    return plan.id, f"s-{unique}", handle


async def test_summary_query(client, small):
    release_id, key, handle = small
    summary = await handle.query(QUERY_SUMMARY, result_type=ReleaseSummary)
    assert (summary.release_id, summary.state, summary.version) == (release_id, "pending", 0)
    assert (summary.entity_count, summary.apps_total, summary.apps_done) == (23, 12, 0)
    assert summary.counts == {
        "wave": {"pending": 2},
        "cluster": {"pending": 4},
        "bundle": {"pending": 4},
        "app": {"pending": 12},
    }
    assert [w.id for w in summary.waves] == [f"wave:{key}-w1", f"wave:{key}-w2"]
    assert summary.waves[0].counts["app"] == {"pending": 6} and summary.waves[0].child_count == 2
    assert summary.updated_at is not None and summary.updated_at.endswith("Z")


async def test_entity_query(client, small):
    _release_id, key, handle = small
    cluster = await handle.query(QUERY_ENTITY, f"cluster:{key}-w2-c1", result_type=EntityView)
    assert (cluster.type, cluster.parent, cluster.state, cluster.child_count) == (
        "cluster",
        f"wave:{key}-w2",
        "pending",
        1,
    )
    assert cluster.counts == {"bundle": {"pending": 1}, "app": {"pending": 3}}
    app = await handle.query(QUERY_ENTITY, f"app:{key}-w2-c1-a3", result_type=EntityView)
    assert (app.parent, app.counts, app.child_count) == (f"bundle:{key}-w2-c1", {}, 0)
    assert await handle.query(QUERY_ENTITY, "app:not-here") is None
    assert await handle.query(QUERY_ENTITY, "not an id") is None


async def test_children_query_with_cursor_and_state(client, small):
    release_id, key, handle = small
    await report(client, release_id, [(f"cluster:{key}-w1-c2", "deploying")])
    page = await handle.query(QUERY_CHILDREN, ChildrenRequest(f"wave:{key}-w1", limit=1), result_type=ChildrenPage)
    assert ([i.id for i in page.items], page.total, page.next_cursor, page.version) == (
        [f"cluster:{key}-w1-c1"],
        2,
        "o:1",
        1,
    )
    page = await handle.query(QUERY_CHILDREN, ChildrenRequest(f"wave:{key}-w1", cursor="o:1"), result_type=ChildrenPage)
    assert [i.id for i in page.items] == [f"cluster:{key}-w1-c2"] and page.next_cursor is None
    page = await handle.query(
        QUERY_CHILDREN, ChildrenRequest(f"wave:{key}-w1", state="deploying"), result_type=ChildrenPage
    )
    assert [(i.id, i.state) for i in page.items] == [(f"cluster:{key}-w1-c2", "deploying")] and page.total == 1


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ChildrenRequest("wave:nope"), "wave:nope is not part of this release"),
        (ChildrenRequest("RELEASE", limit=5), "RELEASE is not part of this release"),
        (ChildrenRequest("{release}", cursor="zzz"), "invalid cursor 'zzz'"),
        (ChildrenRequest("{release}", limit=0), "limit must be an integer from 1 to 1000"),
        (ChildrenRequest("{release}", cursor="o:3"), "past the end"),
    ],
)
async def test_children_query_refuses_bad_requests(client, small, request_, message):
    release_id, _key, handle = small
    request_.parent_id = request_.parent_id.replace("{release}", release_id)
    with pytest.raises(WorkflowQueryFailedError, match=message):
        await handle.query(QUERY_CHILDREN, request_, result_type=ChildrenPage)


async def test_changes_query_and_reload_flag(client, small):
    release_id, key, handle = small
    first = await report(
        client, release_id, [(f"app:{key}-w1-c1-a1", "deploying"), (f"app:{key}-w1-c1-a2", "deploying")]
    )
    second = await report(client, release_id, [(f"app:{key}-w1-c1-a1", "deployed")])
    assert (first.version, first.applied, second.version, second.applied) == (1, 2, 2, 1)
    result = await handle.query(QUERY_CHANGES, ChangesRequest(since_version=0), result_type=ChangesResult)
    assert (result.version, result.reload, result.more) == (2, False, False)
    assert [(c.version, c.id, c.state) for c in result.changes] == [
        (1, f"app:{key}-w1-c1-a1", "deploying"),
        (1, f"app:{key}-w1-c1-a2", "deploying"),
        (2, f"app:{key}-w1-c1-a1", "deployed"),
    ]
    assert all(c.updated_at.endswith("Z") for c in result.changes)
    assert result.changes[0].updated_at <= result.changes[2].updated_at
    paged = await handle.query(QUERY_CHANGES, ChangesRequest(since_version=0, limit=1), result_type=ChangesResult)
    assert ([c.version for c in paged.changes], paged.version, paged.more) == ([1, 1], 1, True)
    none = await handle.query(QUERY_CHANGES, ChangesRequest(since_version=2), result_type=ChangesResult)
    assert (none.changes, none.version, none.reload) == ([], 2, False)
    future = await handle.query(QUERY_CHANGES, ChangesRequest(since_version=99), result_type=ChangesResult)
    assert (future.reload, future.version) == (True, 2)


async def test_snapshot_query(client, small):
    release_id, key, handle = small
    await report(client, release_id, [(f"app:{key}-w2-c2-a3", "failed")])
    first = await handle.query(QUERY_SNAPSHOT, SnapshotRequest(limit=20), result_type=SnapshotPage)
    rest = await handle.query(QUERY_SNAPSHOT, SnapshotRequest(cursor=first.next_cursor), result_type=SnapshotPage)
    assert (first.version, first.total, len(first.rows), first.next_cursor) == (1, 23, 20, "o:20")
    rows = first.rows + rest.rows
    assert rest.next_cursor is None and len(rows) == 23
    assert rows[0][:3] == [release_id, None, "pending"]
    seen = set()
    for entity_id, parent, _state, updated_at in rows:
        assert parent is None or parent in seen
        assert updated_at is not None
        seen.add(entity_id)
    assert [f"app:{key}-w2-c2-a3", f"bundle:{key}-w2-c2", "failed"] == rows[-1][:3]


# ---- the Update validator ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make_batch", "message"),
    [
        (
            lambda k: [(f"app:{k}-w1-c1-a1", "deployed"), ("app:bad id", "deployed")],
            "transition 1: entity id 'app:bad id'",
        ),
        (lambda k: [("nocolon", "deployed")], "transition 0: entity id 'nocolon' has no ':'"),
        (lambda k: [("service:x", "deployed")], "unknown type 'service'"),
        (
            lambda k: [(f"app:{k}-w1-c1-a1", "deployed"), ("app:ghost", "deployed")],
            "transition 1: app:ghost is not part of",
        ),
        (lambda k: [(f"app:{k}-w1-c1-a1", "")], "state is empty"),
        (lambda k: [(f"app:{k}-w1-c1-a1", "   ")], "state is empty"),
        (lambda k: [(f"app:{k}-w1-c1-a1", "x" * 200)], "state is 200 characters long; at most 64"),
        (lambda k: [(f"app:{k}-w1-c1-a1", "deployed")] * 1001, "batch has 1001 transitions; at most 1000"),
        (lambda k: [], "batch is empty"),
        (
            lambda k: [(f"app:{k}-w1-c1-a1", f"custom-{i}") for i in range(31)],
            "already uses 2 and a release may use at most 32 different states",
        ),
    ],
    ids=[
        "malformed",
        "no-colon",
        "bad-type",
        "unknown",
        "empty-state",
        "blank-state",
        "200-char-state",
        "oversized",
        "empty-batch",
        "too-many-states",
    ],
)
async def test_validator_rejects_the_whole_batch_and_records_nothing(client, small, make_batch, message):
    release_id, key, handle = small
    await report(client, release_id, [(f"app:{key}-w2-c1-a1", "deploying")])
    assert message in await rejected(client, release_id, make_batch(key))
    summary = await handle.query(QUERY_SUMMARY, result_type=ReleaseSummary)
    assert summary.version == 1 and summary.counts["app"] == {"pending": 11, "deploying": 1}
    changes = await handle.query(QUERY_CHANGES, ChangesRequest(since_version=0), result_type=ChangesResult)
    assert [c.id for c in changes.changes] == [f"app:{key}-w2-c1-a1"]
    assert (await memo_summary(client, release_id))["version"] == 1


async def test_foreign_states_are_accepted_up_to_the_distinct_state_cap(client, settings, unique):
    key = f"fs-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=40)
    handle = await start_release(client, settings, plan)
    apps = [f"app:{key}-w1-c1-a{i}" for i in range(1, 41)]
    foreign = [f"Waiting For Approval {i}" for i in range(31)]  # with "pending": 32 states in use
    result = await report(client, plan.id, list(zip(apps, foreign, strict=False)))
    assert result.applied == 31
    view = await handle.query(QUERY_ENTITY, apps[7], result_type=EntityView)
    assert view.state == foreign[7] and state_kind(view.state) is StateKind.UNKNOWN  # kept as-is, shown as unknown
    message = await rejected(client, plan.id, [(apps[35], "one more")])
    assert "already uses 32 and a release may use at most 32 different states" in message
    moved = await report(client, plan.id, [(apps[35], foreign[0])])  # a state already in use is fine
    assert moved.version == result.version + 1


async def test_validator_rejects_malformed_payload_shapes(client, small):
    _release_id, _key, handle = small
    for bad in ({"transitions": "nope"}, {"transitions": [{"entity_id": 5, "state": "x"}]}, {"wrong": 1}):
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(UPDATE_TRANSITIONS, bad, rpc_timeout=timedelta(seconds=10))
    assert (await handle.query(QUERY_SUMMARY, result_type=ReleaseSummary)).version == 0


async def test_accepted_batches_stamp_workflow_time_and_bump_version(client, small):
    release_id, key, handle = small
    before = await handle.query(QUERY_ENTITY, f"app:{key}-w1-c1-a1", result_type=EntityView)
    versions = [
        (await report(client, release_id, [(f"app:{key}-w1-c1-a1", state)])).version
        for state in ("deploying", "verifying", "deployed")
    ]
    assert versions == [1, 2, 3]
    after = await handle.query(QUERY_ENTITY, f"app:{key}-w1-c1-a1", result_type=EntityView)
    assert after.state == "deployed" and after.updated_at > before.updated_at
    concurrent = await asyncio.gather(
        *(report(client, release_id, [(f"app:{key}-w2-c2-a{i}", "deployed")]) for i in (1, 2, 3))
    )
    assert sorted(r.version for r in concurrent) == [4, 5, 6]


# ---- search attributes, memo, visibility ------------------------------------------------------------------
async def test_search_attributes_and_memo_reflect_state(client, small):
    release_id, key, handle = small
    await report(client, release_id, [(f"app:{key}-w1-c1-a{i}", "deployed") for i in (1, 2, 3)])
    await report(client, release_id, [(f"app:{key}-w1-c2-a1", "failed"), (release_id, "deploying")])
    description = await handle.describe()
    attributes = description.typed_search_attributes
    assert attributes[SA_STATE] == "deploying"
    assert (attributes[SA_PROGRESS], attributes[SA_APPS_TOTAL], attributes[SA_APPS_FAILED]) == (33, 12, 1)
    assert attributes[SA_UPDATED_AT].tzinfo is not None
    memo = await description.memo_value(MEMO_SUMMARY)
    assert memo["state"] == "deploying" and memo["version"] == 2
    assert (memo["apps_total"], memo["apps_done"], memo["entity_count"]) == (12, 4, 23)
    assert memo["counts"]["app"] == {"pending": 8, "deployed": 3, "failed": 1}
    found = await eventually(
        lambda: _list_if(
            client,
            f'WorkflowId = "{release_id}" AND ReleaseState = "deploying" AND ReleaseAppsFailed = 1',
            lambda items: len(items) == 1,
        ),
        step=0.2,
        what="list_workflows by search attributes",
    )
    assert (await found[0].memo_value(MEMO_SUMMARY))["version"] == 2
    assert found[0].workflow_type == "ReleaseWorkflow"


async def _list_if(client: Client, query: str, ok: Callable[[list], bool]) -> list | None:
    """The workflows listed for ``query`` when ``ok`` holds for them (visibility is eventually consistent)."""
    items = await _list(client, query)
    return items if ok(items) else None


async def _list(client: Client, query: str) -> list:
    return [w async for w in client.list_workflows(query, rpc_timeout=timedelta(seconds=5))]


# ---- id policy ---------------------------------------------------------------------------------------------
async def test_duplicate_start_is_refused_by_the_id_policy(client, settings, small):
    release_id, key, _handle = small
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=1)
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_release(client, settings, plan)
    await report(client, release_id, [(release_id, "cancelled")])
    await client.get_workflow_handle(release_id).result()
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_release(client, settings, plan)


async def test_invalid_plan_is_refused_before_and_by_the_workflow(client, settings, unique):
    bad = PlanNode(f"release:bad-{unique}", children=[PlanNode(f"wave:{unique}", children=[PlanNode(f"app:{unique}")])])
    with pytest.raises(InvalidPlan, match=f"app:{unique}: a app cannot be a child of wave:{unique}"):
        await start_release(client, settings, bad)
    with pytest.raises(RPCError):
        await client.get_workflow_handle(bad.id).describe()  # nothing was started
    handle = await client.start_workflow(
        "ReleaseWorkflow",
        ReleaseWorkflowInput(plan=bad),
        id=bad.id,
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert "invalid release plan" in str(info.value.cause) and f"app:{unique}" in str(info.value.cause)


# ---- continue-as-new ------------------------------------------------------------------------------------------
async def test_continue_as_new_preserves_state_and_is_invisible_by_workflow_id(client, settings, unique):
    key = f"can-{unique}"
    plan = build_plan(key, waves=1, clusters_per_wave=2, apps_per_bundle=5)
    handle = await start_release(client, settings, plan, max_updates_per_run=3)
    first_run = (await handle.describe()).run_id
    apps = [f"app:{key}-w1-c{c}-a{a}" for c in (1, 2) for a in range(1, 6)]
    versions = []
    for n, app in enumerate(apps):  # 10 updates → at least 3 new runs
        versions.append((await report(client, plan.id, [(app, "deployed" if n % 3 else "failed")])).version)
    burst = await asyncio.gather(*(report(client, plan.id, [(app, "deployed")]) for app in apps[:4]))
    assert versions == list(range(1, 11)) and sorted(r.version for r in burst) == [11, 12, 13, 14]

    by_id = client.get_workflow_handle(plan.id)
    description = await by_id.describe()
    assert description.run_id != first_run and description.status == WorkflowExecutionStatus.RUNNING
    summary = await by_id.query(QUERY_SUMMARY, result_type=ReleaseSummary)
    assert (summary.version, summary.apps_done, summary.apps_total) == (14, 10, 10)
    assert summary.counts["app"] == {"deployed": 8, "failed": 2}  # apps 6 and 9 failed and were not redeployed
    changes = await by_id.query(QUERY_CHANGES, ChangesRequest(since_version=0), result_type=ChangesResult)
    assert [c.version for c in changes.changes] == list(range(1, 15)) and not changes.reload
    assert [c.id for c in changes.changes[:10]] == apps
    assert sorted(c.id for c in changes.changes[10:]) == sorted(apps[:4])
    last_of_first_app = next(c for c in reversed(changes.changes) if c.id == apps[0])
    entity = await by_id.query(QUERY_ENTITY, apps[0], result_type=EntityView)
    assert (entity.state, entity.updated_at) == ("deployed", last_of_first_app.updated_at)
    rows = (await by_id.query(QUERY_SNAPSHOT, SnapshotRequest(), result_type=SnapshotPage)).rows
    assert [r[0] for r in rows][:3] == [plan.id, f"wave:{key}-w1", f"cluster:{key}-w1-c1"] and len(rows) == 16
    memo = await memo_summary(client, plan.id)
    assert memo["version"] == 14 and memo["apps_done"] == 10
    runs = await eventually(
        lambda: _list_if(client, f'WorkflowId = "{plan.id}"', lambda items: len(items) >= 4),
        step=0.2,
        what="runs of the release",
    )
    print(f"\ncontinue-as-new: {len(runs)} runs for 14 updates with max_updates_per_run=3")
    assert len(runs) == len({r.run_id for r in runs})


# ---- completion --------------------------------------------------------------------------------------------
async def test_workflow_completes_with_final_summary_in_memo(client, small):
    release_id, key, handle = small
    await report(client, release_id, [(f"app:{key}-w1-c1-a1", "deployed"), (release_id, "deploying")])
    await report(client, release_id, [(release_id, "rolled_back")])
    result = await client.get_workflow_handle(release_id, result_type=ReleaseSummary).result()
    assert (result.state, result.version, result.apps_done) == ("rolled_back", 2, 1)
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    memo = await description.memo_value(MEMO_SUMMARY)
    assert (memo["state"], memo["version"], memo["apps_done"], memo["apps_total"]) == ("rolled_back", 2, 1, 12)
    assert description.typed_search_attributes[SA_STATE] == "rolled_back"
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await report(client, release_id, [(f"app:{key}-w1-c1-a2", "deployed")])
    closed = await handle.query(QUERY_SUMMARY, result_type=ReleaseSummary)  # a closed workflow is replayed
    assert (closed.state, closed.version) == ("rolled_back", 2)
    listed = await eventually(
        lambda: _list_if(
            client, f'WorkflowId = "{release_id}" AND ExecutionStatus = "Completed"', lambda items: len(items) == 1
        ),
        step=0.2,
        what="completed release in visibility",
    )
    assert (await listed[0].memo_value(MEMO_SUMMARY))["state"] == "rolled_back"


# ---- 10,000 apps: every query, sizes measured ---------------------------------------------------------------
async def test_every_query_with_ten_thousand_apps_stays_well_under_512_kib(client, settings, unique):
    key = f"big-{unique}"
    plan = build_plan(key, waves=2, clusters_per_wave=5, apps_per_bundle=1000)  # 10,000 apps, 10,023 entities
    started = time.monotonic()
    handle = await start_release(client, settings, plan, max_updates_per_run=2)  # the 3rd batch lands in run 2
    first_run = (await handle.describe()).run_id
    apps = [f"app:{key}-w{w}-c{c}-a{a}" for w in (1, 2) for c in range(1, 6) for a in range(1, 1001)]
    sizes = [999, 1000, 1000]  # misaligned batches: the changes page ends on a whole batch (2,999 changes)
    offset = 0
    for n, size in enumerate(sizes):
        await report(client, plan.id, [(a, "deploying" if n else "deployed") for a in apps[offset : offset + size]])
        offset += size
    setup = time.monotonic() - started

    assert (await client.get_workflow_handle(plan.id).describe()).run_id != first_run  # 10k rows carried over
    measured: dict[str, int] = {}
    measured["summary"], summary = await raw_query(client, plan.id, QUERY_SUMMARY)
    assert summary["apps_total"] == 10_000 and summary["entity_count"] == 10_023 and summary["version"] == 3
    measured["entity (release)"], entity = await raw_query(client, plan.id, QUERY_ENTITY, plan.id)
    assert entity["counts"]["app"] == {"deployed": 999, "deploying": 2000, "pending": 7001}
    measured["children (1000 apps)"], page = await raw_query(
        client, plan.id, QUERY_CHILDREN, ChildrenRequest(f"bundle:{key}-w1-c2", limit=1000)
    )
    assert page["total"] == 1000 and page["items"] and page["items"][0]["id"] == f"app:{key}-w1-c2-a1"
    measured["changes (limit 2000)"], changes = await raw_query(
        client, plan.id, QUERY_CHANGES, ChangesRequest(since_version=0, limit=2000)
    )
    assert not changes["reload"] and {c["version"] for c in changes["changes"]} <= {1, 2, 3}
    assert len(changes["changes"]) in {999, 1999, 2999}
    cursor, snapshot_ids, snapshot_sizes = None, [], []
    while True:
        size, snapshot = await raw_query(client, plan.id, QUERY_SNAPSHOT, SnapshotRequest(cursor=cursor, limit=4000))
        snapshot_sizes.append(size)
        snapshot_ids += [r[0] for r in snapshot["rows"]]
        cursor = snapshot["next_cursor"]
        if cursor is None:
            break
    measured["snapshot page (limit 4000)"] = max(snapshot_sizes)
    assert len(snapshot_ids) == 10_023 and len(set(snapshot_ids)) == 10_023
    print(f"\n10,000 apps: start + 3 batches of ~1,000 in {setup:.1f}s; snapshot in {len(snapshot_sizes)} pages")
    for name, size in measured.items():
        print(f"  {name:28} {size / KIB:8.1f} KiB")
    assert max(measured.values()) < 256 * KIB


# ---- 100,000 apps: only possible thanks to the compression codec ----------------------------------------------
@pytest.mark.slow
async def test_hundred_thousand_app_plan_starts_thanks_to_the_codec(client, settings, unique):
    key = f"huge-{unique}"
    plan = build_plan(key, waves=4, clusters_per_wave=25, apps_per_bundle=1000)  # 100,000 apps, 100,205 entities
    plain = DataConverter.default.payload_converter.to_payloads([ReleaseWorkflowInput(plan=plan)])[0]
    encoded = (await client.data_converter.encode([ReleaseWorkflowInput(plan=plan)]))[0]
    assert plain.ByteSize() > 2 * 1024 * KIB  # over Temporal's payload limit without the codec
    assert encoded.metadata["encoding"] == b"binary/zlib" and encoded.ByteSize() < 1024 * KIB
    started = time.monotonic()
    handle = await start_release(client, settings, plan)
    await first_workflow_task_done(handle)  # the whole 100,000-app tree is built in that one task
    built = time.monotonic() - started
    size, summary = await raw_query(client, plan.id, QUERY_SUMMARY)
    answered = time.monotonic() - started
    assert (summary["apps_total"], summary["entity_count"]) == (100_000, 100_205)
    result = await report(client, plan.id, [(f"app:{key}-w4-c25-a1000", "deployed")])
    assert result.version == 1
    entity = await handle.query(QUERY_ENTITY, f"bundle:{key}-w4-c25", result_type=EntityView)
    assert entity.counts["app"] == {"pending": 999, "deployed": 1}
    print(
        f"\n100,000 apps: plan {plain.ByteSize() / KIB / KIB:.1f} MiB as JSON, {encoded.ByteSize() / KIB:.0f} KiB "
        f"compressed; first workflow task done after {built:.1f}s, answering after {answered:.1f}s; "
        f"summary {size / KIB:.1f} KiB"
    )
