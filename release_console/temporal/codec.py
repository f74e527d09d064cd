"""A payload codec that zlib-compresses only large payloads (plans, continue-as-new state).

Query results and small payloads stay plain JSON, so the `temporal` CLI and web UI read them as usual;
a 100,000-app plan that would break Temporal's 2 MiB payload limit fits compressed.
Decoding never expands a payload past MAX_DECOMPRESSED bytes: a small "zip bomb" stored in a workflow's history
is refused with PayloadTooLarge instead of exhausting the console's or the worker's memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/zlib"
COMPRESS_ABOVE = 256 * 1024
MAX_DECOMPRESSED = 64 * 1024 * 1024


class PayloadTooLarge(ValueError):
    """A compressed payload that would expand past MAX_DECOMPRESSED bytes."""


class CorruptPayload(ValueError):
    """A payload marked as compressed that is not complete zlib data."""


def decompress(data: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """``data`` inflated, refusing to produce more than ``limit`` bytes."""
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, limit)
        if inflater.unconsumed_tail or (not inflater.eof and inflater.decompress(b"", 1)):
            raise PayloadTooLarge(f"compressed payload ({len(data)} bytes) expands past {limit} bytes; refused")
    except zlib.error as exc:
        raise CorruptPayload(f"compressed payload ({len(data)} bytes) is not valid zlib data: {exc}") from None
    if not inflater.eof:
        raise CorruptPayload(f"compressed payload ({len(data)} bytes) is truncated")
    return inflated


class LargePayloadCodec(PayloadCodec):
    """Compress payloads over COMPRESS_ABOVE bytes; leave the rest untouched."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encode(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [decode_payload(p) for p in payloads]

    @staticmethod
    def _encode(payload: Payload) -> Payload:
        if payload.ByteSize() <= COMPRESS_ABOVE:
            return payload
        return Payload(metadata={"encoding": ENCODING}, data=zlib.compress(payload.SerializeToString(), 6))


def decode_payload(payload: Payload, limit: int = MAX_DECOMPRESSED) -> Payload:
    """One payload as the codec decodes it (synchronous, for code that decodes outside the event loop)."""
    if payload.metadata.get("encoding") != ENCODING:
        return payload
    inner = Payload()
    inner.ParseFromString(decompress(payload.data, limit))
    return inner
