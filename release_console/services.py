"""The running parts of the console, started once per process and shared by the REST API and the UI.

Start order: Temporal (embedded or remote) → client → worker (optional) → read path → accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from loguru import logger
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from .accounts.bootstrap import ensure_first_admin
from .accounts.models import Principal
from .accounts.service import AccountsService
from .core import audit
from .core.config import Settings
from .core.loop_lag import LoopLagMonitor
from .core.token_cache import TokenCache
from .readpath.gateway import TemporalGateway
from .readpath.mirror import MirrorRegistry
from .readpath.release_list import ReleaseList
from .readpath.stats import ReadPathStats
from .temporal.client import connect
from .temporal.embedded import EmbeddedTemporal, start_embedded
from .temporal.search_attributes import register_search_attributes
from .temporal.worker import build_worker
from .workflows.contract import DEFAULT_WORKFLOW_TYPE


@dataclass
class Services:
    """Everything with a lifecycle; ``current()`` returns the running instance."""

    settings: Settings
    client: Client | None = None
    embedded: EmbeddedTemporal | None = None
    worker: Worker | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    startup_error: str | None = None
    loop_lag: LoopLagMonitor = field(default_factory=LoopLagMonitor)
    # --- read path (issue 4) ---
    stats: ReadPathStats = field(default_factory=ReadPathStats)
    gateway: TemporalGateway | None = None
    mirrors: MirrorRegistry | None = None
    release_list: ReleaseList | None = None
    # --- accounts (issue 3) ---
    accounts: AccountsService | None = None
    tokens: TokenCache[Principal] = field(default_factory=TokenCache)
    """Admitted bearer tokens of the REST API (emptied on every accounts change)."""

    async def start(self) -> None:
        """Bring every part up; raises with a clear message when Temporal cannot be reached."""
        self.loop_lag.start()
        if self.settings.embedded:
            self.embedded = await start_embedded(self.settings)
        self.client = await self._connect()
        await register_search_attributes(self.client, self.settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        if self.settings.RUN_WORKER and not self.client.service_client.config.lazy:
            self.worker = build_worker(self.client, self.settings)
            self.tasks.append(asyncio.create_task(self.worker.run(), name="worker"))
        # --- read path start (issue 4) ---
        self.gateway = TemporalGateway(self.client, self.settings, self.stats)
        self.mirrors = MirrorRegistry(self.gateway, self.settings)
        self.mirrors.start()
        self.release_list = ReleaseList(self.gateway, self.settings)
        self.release_list.start()
        # --- accounts start (issue 3) ---
        audit.configure(self.settings)
        accounts = self.accounts = AccountsService(self.client, self.settings)
        await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, self.settings))
        if await self._should_run_demo():
            from .demo import run_demo

            self.tasks.append(asyncio.create_task(run_demo(self.client, self.settings), name="demo"))

    async def stop(self) -> None:
        """Stop in reverse order; never raises."""
        # --- accounts stop (issue 3) ---
        if self.accounts is not None:
            await self.accounts.stop()
        audit.shutdown()
        # --- read path stop (issue 4) ---
        for part in (self.release_list, self.mirrors):
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.stop()
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
            logger.info("embedded Temporal server stopped")
        await self.loop_lag.stop()

    async def _connect(self) -> Client:
        """Connect; if a remote Temporal is down, keep running on a lazy client so pages can say so."""
        try:
            return await connect(self.settings)
        except (RuntimeError, RPCError) as exc:
            if self.settings.embedded:
                raise
            logger.error("Temporal at {} is unreachable ({}); the console will retry on every request",
                         self.settings.temporal_address, exc)
            return await connect(self.settings, lazy=True)

    async def _should_run_demo(self) -> bool:
        if self.settings.DEMO == "off" or self.client is None or self.client.service_client.config.lazy:
            return False
        if self.settings.DEMO == "on":
            return True
        if not self.settings.embedded:
            return False
        timeout = timedelta(seconds=self.settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        count = await self.client.count_workflows(f'WorkflowType="{DEFAULT_WORKFLOW_TYPE}"', rpc_timeout=timeout)
        return count.count == 0


_current: Services | None = None


def current() -> Services:
    """The running services (RuntimeError before start-up)."""
    if _current is None:
        raise RuntimeError("services are not started")
    return _current


async def wait_until_started(timeout: float) -> Services | None:
    """The services once start-up has finished (successfully or not); None if it did not finish in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while _current is None or not _current.started.is_set():
        if loop.time() >= deadline:
            return None
        if _current is None:
            await asyncio.sleep(0.05)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_current.started.wait(), deadline - loop.time())
    return _current


def install(services: Services | None) -> None:
    """Make ``services`` the running instance (None on shutdown)."""
    global _current
    _current = services
