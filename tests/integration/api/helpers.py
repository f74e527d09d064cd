"""Helpers shared by several test modules."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
from nicegui import app as nicegui_app


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Like httpx.ASGITransport, but yields the body while the app is still sending it (needed for SSE)."""

    def __init__(self, app) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = b"".join([part async for part in request.stream])
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw], "scheme": "http",
            "path": request.url.path, "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query, "server": ("test", 80), "client": ("127.0.0.1", 123), "root_path": "",
        }
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        started: asyncio.Future = asyncio.get_running_loop().create_future()
        disconnected = asyncio.Event()
        sent_request = False

        async def receive():
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                started.set_result(message)
            elif message["type"] == "http.response.body":
                chunks.put_nowait(message.get("body", b""))
                if not message.get("more_body", False):
                    chunks.put_nowait(None)

        task = asyncio.create_task(self.app(scope, receive, send))
        task.add_done_callback(lambda t: chunks.put_nowait(None))
        start = await started

        class Body(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                while (chunk := await chunks.get()) is not None:
                    yield chunk

            async def aclose(self) -> None:
                disconnected.set()
                try:
                    await asyncio.wait_for(task, 5)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()

        return httpx.Response(start["status"], headers=start.get("headers", []), stream=Body())


class EventReader:
    """Parses SSE events from a streaming response in the background; ``until`` collects them."""

    def __init__(self, response: httpx.Response) -> None:
        self.events: asyncio.Queue[dict] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump(response))

    async def _pump(self, response: httpx.Response) -> None:
        current: dict = {}
        async for line in response.aiter_lines():
            if line == "":
                if current.get("event"):
                    self.events.put_nowait(current)
                current = {}
            elif not line.startswith(":") and ":" in line:
                field, _, value = line.partition(":")
                current[field] = json.loads(value.strip()) if field == "data" else value.strip()

    async def until(self, done, timeout: float = 10.0) -> list[dict]:
        """Events received until ``done(events)`` is true or the deadline passes."""
        got: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while not (got and done(got)):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                got.append(await asyncio.wait_for(self.events.get(), remaining))
            except TimeoutError:
                break
        return got

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


@contextlib.asynccontextmanager
async def event_stream(url: str, headers: dict[str, str]) -> AsyncIterator[EventReader]:
    """An SSE stream of the console app read with httpx."""
    async with (
        httpx.AsyncClient(transport=StreamingASGITransport(nicegui_app)) as sse,
        sse.stream("GET", url, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = EventReader(response)
        try:
            yield reader
        finally:
            await reader.close()


def polls_until_applied(release_id: str):
    """Record, when the mirror first applies a change, how many ``changes`` polls it had made (via /stats counters).

    Returns ``(counted_now, applied_at_poll)``: ``counted_now()`` reads the poll counter; ``applied_at_poll`` holds
    the counter value at the first applied change (a list, filled by the mirror's listener).
    """
    from release_console import services

    running = services.current()
    counted = lambda: running.stats.for_release(release_id).get("poll:query:changes", 0)  # noqa: E731
    seen: list[int] = []

    def on_change(_mirror, changes) -> None:
        if changes and not seen:
            seen.append(counted())

    remove = running.mirrors.peek(release_id).add_listener(on_change)
    return counted, seen, remove
