"""One task for the checks every open page needs now and then (is its session still valid?), not a timer per tab.

NiceGUI's ``ui.timer`` is an asyncio task per tab; with hundreds of tabs their wake-ups alone cost the loop. Here one
task walks the registered checks every ``interval`` seconds, a chunk at a time, yielding between chunks, and runs
each in its page's context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger
from nicegui import Client

from ...core.tasks import cancel_and_wait

CHUNK = 50


class Ticker:
    """Calls each registered ``check`` about every ``interval`` seconds, inside its client's context."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.checks: dict[int, tuple[Client, Callable[[], None]]] = {}
        self._next = 0
        self._task: asyncio.Task[None] | None = None

    def add(self, client: Client, check: Callable[[], None]) -> Callable[[], None]:
        """Register ``check`` for ``client`` (dropped with the client); returns the unregister."""
        key = self._next
        self._next += 1
        self.checks[key] = (client, check)

        def remove() -> None:
            self.checks.pop(key, None)

        client.on_delete(remove)
        return remove

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="page checks")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.run_once()

    async def run_once(self) -> None:
        """Run every check once (a chunk at a time)."""
        for index, (client, check) in enumerate(list(self.checks.values())):
            if index and index % CHUNK == 0:
                await asyncio.sleep(0)
            if client.is_deleted:
                continue
            try:
                with client:
                    check()
            except Exception:
                logger.exception("a page check failed")
