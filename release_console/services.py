"""The running parts of the console, started once per process and shared by the REST API and the UI.

Start order: Temporal (embedded or remote) → client → worker (optional) → read path → accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from loguru import logger
from temporalio.client import Client
from temporalio.worker import Worker

from .core.config import Settings
from .temporal.client import connect
from .temporal.embedded import EmbeddedTemporal, start_embedded
from .temporal.search_attributes import ensure_search_attributes
from .temporal.worker import build_worker


@dataclass
class Services:
    """Everything with a lifecycle; ``current()`` returns the running instance."""

    settings: Settings
    client: Client | None = None
    embedded: EmbeddedTemporal | None = None
    worker: Worker | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    # --- read path (issue 4) ---
    # --- accounts (issue 3) ---

    async def start(self) -> None:
        """Bring every part up; raises with a clear message when Temporal cannot be reached."""
        if self.settings.embedded:
            self.embedded = await start_embedded(self.settings)
        self.client = await connect(self.settings)
        with contextlib.suppress(Exception):
            added = await ensure_search_attributes(self.client)
            if added:
                logger.info("registered search attributes {}", ", ".join(added))
        if self.settings.RUN_WORKER:
            self.worker = build_worker(self.client, self.settings)
            self.tasks.append(asyncio.create_task(self.worker.run(), name="worker"))
        # --- read path start (issue 4) ---
        # --- accounts start (issue 3) ---
        if await self._should_run_demo():
            from .demo import run_demo

            self.tasks.append(asyncio.create_task(run_demo(self.client, self.settings), name="demo"))

    async def stop(self) -> None:
        """Stop in reverse order; never raises."""
        # --- accounts stop (issue 3) ---
        # --- read path stop (issue 4) ---
        for task in self.tasks:
            if task.get_name() != "worker":
                task.cancel()
        if self.worker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.worker.shutdown(), 10)
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        self.tasks.clear()
        if self.embedded is not None:
            await self.embedded.stop()
            self.embedded = None

    async def _should_run_demo(self) -> bool:
        if self.settings.DEMO == "off" or self.client is None:
            return False
        if self.settings.DEMO == "on":
            return True
        if not self.settings.embedded:
            return False
        count = await self.client.count_workflows(f'WorkflowType="{self.settings.RELEASE_WORKFLOW_TYPE}"')
        return count.count == 0


_current: Services | None = None


def current() -> Services:
    """The running services (RuntimeError before start-up)."""
    if _current is None:
        raise RuntimeError("services are not started")
    return _current


def install(services: Services | None) -> None:
    """Make ``services`` the running instance (None on shutdown)."""
    global _current
    _current = services
