"""A payload codec that zlib-compresses only large payloads (plans, continue-as-new state).

Query results and small payloads stay plain JSON, so the `temporal` CLI and web UI read them as usual;
a 100,000-app plan that would break Temporal's 2 MiB payload limit fits compressed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/zlib"
COMPRESS_ABOVE = 256 * 1024


class LargePayloadCodec(PayloadCodec):
    """Compress payloads over COMPRESS_ABOVE bytes; leave the rest untouched."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encode(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode(p) for p in payloads]

    @staticmethod
    def _encode(payload: Payload) -> Payload:
        if payload.ByteSize() <= COMPRESS_ABOVE:
            return payload
        return Payload(metadata={"encoding": ENCODING}, data=zlib.compress(payload.SerializeToString(), 6))

    @staticmethod
    def _decode(payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        inner = Payload()
        inner.ParseFromString(zlib.decompress(payload.data))
        return inner
