"""LargePayloadCodec: only large payloads are compressed, everything round-trips, small ones stay readable JSON."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.converter import DataConverter

from release_console.contract.names import QUERY_SUMMARY
from release_console.contract.shapes import ReleaseSummary, ReleaseWorkflowInput, Transition, TransitionBatch
from release_console.temporal.client import DATA_CONVERTER
from release_console.temporal.codec import COMPRESS_ABOVE, ENCODING, LargePayloadCodec
from release_console.temporal.releases import build_plan, start_release


def json_payload(size: int) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=b'"' + b"x" * size + b'"')


async def test_small_payloads_are_left_untouched():
    codec = LargePayloadCodec()
    small = json_payload(COMPRESS_ABOVE - 100)
    [encoded] = await codec.encode([small])
    assert encoded == small and encoded.metadata["encoding"] == b"json/plain"
    assert await codec.decode([small]) == [small]


async def test_large_payloads_are_compressed_and_round_trip():
    codec = LargePayloadCodec()
    large = json_payload(COMPRESS_ABOVE + 1)
    large.metadata["custom"] = b"kept"
    [encoded] = await codec.encode([large])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.ByteSize() < large.ByteSize() // 100
    [decoded] = await codec.decode([encoded])
    assert decoded == large and decoded.metadata["custom"] == b"kept"


async def test_mixed_batches_keep_their_order():
    codec = LargePayloadCodec()
    payloads = [json_payload(10), json_payload(COMPRESS_ABOVE * 2), json_payload(20)]
    encoded = await codec.encode(payloads)
    assert [p.metadata["encoding"] for p in encoded] == [b"json/plain", ENCODING, b"json/plain"]
    assert await codec.decode(encoded) == payloads


async def test_extra_fields_of_a_batch_are_ignored():
    """Older callers sent ``source`` with every TransitionBatch: such updates (and histories) still decode."""
    [payload] = await DATA_CONVERTER.encode([{"transitions": [{"entity_id": "app:a", "state": "x"}], "source": "s"}])
    [batch] = await DATA_CONVERTER.decode([payload], [TransitionBatch])
    assert batch == TransitionBatch([Transition("app:a", "x")])


async def test_a_plan_round_trips_through_the_app_data_converter():
    plan = build_plan("codec", waves=2, clusters_per_wave=5, apps_per_bundle=500)
    value = ReleaseWorkflowInput(plan=plan)
    plain = DataConverter.default.payload_converter.to_payloads([value])[0]
    [encoded] = await DATA_CONVERTER.encode([value])
    [decoded] = await DATA_CONVERTER.decode([encoded], [ReleaseWorkflowInput])
    assert plain.ByteSize() > COMPRESS_ABOVE and encoded.metadata["encoding"] == ENCODING
    assert decoded == value
    print(f"\n5,000-app plan: {plain.ByteSize() / 1024:.0f} KiB JSON -> {encoded.ByteSize() / 1024:.0f} KiB compressed")


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
