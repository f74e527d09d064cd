"""LargePayloadCodec: only large payloads are compressed, everything round-trips, small ones stay readable JSON."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from release_console.contract.names import QUERY_SUMMARY
from release_console.contract.shapes import ReleaseSummary
from release_console.temporal.codec import COMPRESS_ABOVE, ENCODING
from release_console.temporal.releases import build_plan, start_release


async def test_big_start_input_is_stored_compressed_but_query_results_stay_plain(client, settings, unique):
    plan = build_plan(f"codec-{unique}", waves=2, clusters_per_wave=5, apps_per_bundle=500)
    handle = await start_release(client, settings, plan)
    summary = await handle.query(QUERY_SUMMARY, result_type=ReleaseSummary)
    assert summary.apps_total == 5000
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=plan.id)
        ),
        timeout=timedelta(seconds=10),
    )
    started = next(e for e in history.history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    [stored] = started.workflow_execution_started_event_attributes.input.payloads
    assert stored.metadata["encoding"] == ENCODING  # what Temporal stores: compressed
    assert stored.ByteSize() < COMPRESS_ABOVE
