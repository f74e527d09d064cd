"""A large cached answer goes out as its shared bytes plus the request's tail, as one well-formed HTTP body."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from release_console.api.responses import SPLIT_ANSWER_BYTES, SplitAnswer

SHARED = b'{"items":[' + b",".join(b'"%d"' % i for i in range(SPLIT_ANSWER_BYTES // 4)) + b"]"
TAIL = b',"stale":false}'


async def test_split_answer_sends_shared_bytes_then_tail_with_the_whole_length() -> None:
    async def endpoint(_request: object) -> SplitAnswer:
        return SplitAnswer(SHARED, TAIL)

    app = Starlette(routes=[Route("/answer", endpoint)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
        response = await client.get("/answer")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(SHARED) + len(TAIL) == len(response.content)
    assert response.json()["stale"] is False and len(response.json()["items"]) == SPLIT_ANSWER_BYTES // 4
