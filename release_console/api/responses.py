"""How REST sends a cached answer: its shared bytes (built once per mirror version, answers/) closed with this
request's freshness fields, without copying large bodies."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from ..answers.release import freshness_tail
from ..readpath.mirror import ReleaseMirror

JSON = "application/json"
SPLIT_ANSWER_BYTES = 64 * 1024
"""Answers at least this big are sent without joining the cached bytes and the per-request tail."""


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
