"""The payload codec: large payloads compressed, small ones untouched, order kept, bombs refused (no server)."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from release_console.contract.shapes import ReleaseWorkflowInput, Transition, TransitionBatch
from release_console.temporal.client import DATA_CONVERTER
from release_console.temporal.codec import COMPRESS_ABOVE, ENCODING, LargePayloadCodec
from release_console.temporal.releases import build_plan


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


