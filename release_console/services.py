"""The running parts of the console, started once per process and shared by the REST API and the UI.

Start order: Temporal (embedded or remote) → client → workers (the console's notification worker; the reference
worker optional) → read path → accounts → notifications.

Start-up either succeeds or fails for good (the caller then stops everything and exits): the embedded server is
waited for until its frontend answers as healthy, retrying the connection with backoff up to STARTUP_TIMEOUT_SECONDS.
A remote TEMPORAL_ADDRESS that is down does not fail start-up: the console serves pages that say so (and /ready is
503) on a lazy client, keeps retrying, and finishes what start-up skipped (search attributes, the worker) once
Temporal answers.

How the rest of the console reaches the services (one way each):

- Request and page code (api/, ui/, examples) calls :func:`running`: the started parts, never None, or NotStarted
  (the API's 503, a page's "starting" message). The API's routes go through its accessors (``running_accounts()``
  … in api/deps.py), which call :func:`running`.
- :func:`current` (the whole ``Services``, parts of which may still be None) is for the lifecycle only: app.py,
  which starts and stops them and hands core/ what it needs, and tests.
- core/ never imports this module (nor anything above it): what it needs is handed to it when the app is assembled
  (app.setup): metrics get a provider of the services, client_ip the TRUSTED_PROXIES.
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
from .contract.names import DEFAULT_WORKFLOW_TYPE
from .core.config import Settings
from .core.errors import ConsoleError
from .core.tasks import cancel_and_wait
from .notifications.deliveries import DeliveryLog
from .notifications.dispatcher import Notifier
from .notifications.service import NotificationsService
from .notifications.worker import build_notifications_worker
from .readpath.entity_index import EntityIndex
from .readpath.errors import ReleaseNotFound
from .readpath.gateway import TemporalGateway
from .readpath.health import TemporalHealth
from .readpath.mirror import MirrorRegistry
from .readpath.release_list import ReleaseList
from .readpath.stats import ReadPathStats
from .runtime import audit
from .runtime.loop_lag import LoopLagMonitor
from .runtime.token_cache import TokenCache
from .temporal.client import connect
from .temporal.embedded import EmbeddedServerError, EmbeddedTemporal, set_retention, start_embedded
from .temporal.search_attributes import register_search_attributes
from .temporal.worker import WorkerGroup, build_worker

CONNECT_FIRST_RETRY_SECONDS = 0.2
CONNECT_MAX_RETRY_SECONDS = 2.0
PROGRESS_EVERY_SECONDS = 5.0
"""Waiting for Temporal logs one progress line at first and then at most this often."""
STOP_PART_SECONDS = 10.0
"""How long a stop waits for each part (start-up, accounts, read path, tasks) before going on without it."""


class NotStarted(ConsoleError, RuntimeError):
    """The console's services are not running (yet, or any more): the API answers 503."""

    code = "unavailable"
    status = 503

    def __init__(self, message: str = "the console is starting; try again") -> None:
        super().__init__(message)

    def http_headers(self) -> dict[str, str] | None:
        """No Retry-After (as ever for this answer; requests wait for start-up before they get here)."""
        return None


@dataclass(frozen=True, slots=True)
class RunningServices:
    """The parts of the started console that pages and API routes use, none of them None: see :func:`running`."""

    settings: Settings
    client: Client
    health: TemporalHealth
    gateway: TemporalGateway
    mirrors: MirrorRegistry
    release_list: ReleaseList
    accounts: AccountsService
    tokens: TokenCache[Principal]
    stats: ReadPathStats
    loop_lag: LoopLagMonitor
    entity_index: EntityIndex
    notifications: NotificationsService
    deliveries: DeliveryLog


@dataclass
class Services:
    """Everything with a lifecycle; ``current()`` returns the installed instance, ``running()`` its started parts."""

    settings: Settings
    client: Client | None = None
    embedded: EmbeddedTemporal | None = None
    worker: Worker | WorkerGroup | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    startup_error: str | None = None
    loop_lag: LoopLagMonitor = field(default_factory=LoopLagMonitor)
    stopped: bool = False
    starting: asyncio.Task | None = None
    """The task running :meth:`start` while it runs (a stop during start-up cancels it first)."""
    # --- read path ---
    stats: ReadPathStats = field(default_factory=ReadPathStats)
    health: TemporalHealth | None = None
    """Whether Temporal is reachable: drives the pages' outage banners, REST's 503s and /ready."""
    gateway: TemporalGateway | None = None
    mirrors: MirrorRegistry | None = None
    release_list: ReleaseList | None = None
    entity_index: EntityIndex | None = None
    """Which releases hold each entity (GET /entities/{id}, the header's search)."""
    # --- accounts ---
    accounts: AccountsService | None = None
    tokens: TokenCache[Principal] = field(default_factory=TokenCache)
    """Admitted bearer tokens of the REST API (emptied on every accounts change)."""
    # --- notifications ---
    notifications: NotificationsService | None = None
    deliveries: DeliveryLog | None = None
    notifier: Notifier | None = None
    notifications_worker: Worker | None = None
    running: RunningServices | None = None
    """Every part above, typed as present: set once the accounts service exists (see :func:`running`)."""

    async def start(self) -> None:
        """Bring every part up; raises with a clear message when the embedded Temporal cannot be started."""
        self.starting = asyncio.current_task()
        try:
            await self._start()
        finally:
            self.starting = None

    async def _start(self) -> None:
        self.loop_lag.start()
        deadline = asyncio.get_running_loop().time() + self.settings.STARTUP_TIMEOUT_SECONDS
        if self.settings.embedded:
            self.embedded = await start_embedded(self.settings, wait_seconds=self.settings.STARTUP_TIMEOUT_SECONDS)
        self.client, problem = await self._connect(deadline)
        if self.embedded is not None:
            await set_retention(self.client, self.settings)
        self.notifications = NotificationsService(self.client, self.settings, self._release_exists)
        self.deliveries = DeliveryLog(self.client, self.settings, self.notifications)
        self.health = TemporalHealth(self.client, self.settings, up=problem is None, reason=problem)
        self.health.start()
        if problem is None:
            await self._finish_start(self.client)
        else:
            self.tasks.append(asyncio.create_task(self._finish_when_reachable(), name="finish start-up"))
        # --- read path start ---
        self.gateway = TemporalGateway(self.client, self.settings, self.stats, self.health)
        self.release_list = ReleaseList(self.gateway, self.settings)
        self.mirrors = MirrorRegistry(self.gateway, self.settings, self.release_list)
        self.mirrors.start()
        self.release_list.start()
        self.entity_index = EntityIndex(self.gateway, self.release_list, self.settings)
        self.entity_index.start()
        # --- accounts start ---
        audit.configure(self.settings)
        accounts = self.accounts = AccountsService(self.client, self.settings)
        notifications = self.notifications
        assert notifications is not None and self.deliveries is not None
        self.running = RunningServices(self.settings, self.client, self.health, self.gateway, self.mirrors,
                                       self.release_list, accounts, self.tokens, self.stats, self.loop_lag,
                                       self.entity_index, notifications, self.deliveries)
        await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, self.settings))
        if self.settings.NOTIFICATIONS_ENABLED:
            await notifications.start()
            self.notifier = Notifier(notifications, self.deliveries, self.release_list, self.mirrors, self.settings,
                                     active_user=lambda name: accounts.principal(name) is not None)
            self.notifier.start()
        if await self._should_run_demo():
            from .demo import run_demo

            self.tasks.append(asyncio.create_task(run_demo(self.client, self.settings), name="demo"))

    async def _finish_start(self, client: Client) -> None:
        """What needs a connected client: the search attributes, then the worker (RUN_WORKER)."""
        await register_search_attributes(client, self.settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        if self.settings.NOTIFICATIONS_ENABLED and self.notifications_worker is None:
            assert self.notifications is not None
            self.notifications_worker = build_notifications_worker(client, self.settings, self.notifications)
            self.tasks.append(asyncio.create_task(self.notifications_worker.run(), name="worker"))
        if self.settings.RUN_WORKER:
            self.worker = build_worker(client, self.settings)
            self.tasks.append(asyncio.create_task(self.worker.run(), name="worker"))

    async def _finish_when_reachable(self) -> None:
        """Remote Temporal was down at start: wait for it, then finish start-up (search attributes, worker)."""
        health = self.health
        assert health is not None
        began = asyncio.get_running_loop().time()
        while True:
            while not health.up:
                if not await health.wait_changed(PROGRESS_EVERY_SECONDS * 6):
                    waited = asyncio.get_running_loop().time() - began
                    logger.warning("Temporal at {} is still unreachable after {:.0f}s ({}); retrying",
                                   self.settings.temporal_address, waited, health.reason)
            try:
                client = await connect(self.settings)  # a worker needs a connected (not lazy) client
            except (RuntimeError, RPCError) as exc:
                logger.warning("Temporal at {} answered but a client could not connect ({}); retrying",
                               self.settings.temporal_address, exc)
                await asyncio.sleep(CONNECT_MAX_RETRY_SECONDS)
                continue
            await self._finish_start(client)
            logger.info("Temporal at {} is reachable: start-up finished{}", self.settings.temporal_address,
                        " (worker started)" if self.worker is not None else "")
            if self.settings.DEMO == "on":
                from .demo import run_demo

                self.tasks.append(asyncio.create_task(run_demo(client, self.settings), name="demo"))
            return

    async def stop(self) -> None:
        """Stop in reverse order; never raises; a second call does nothing."""
        if self.stopped:
            return
        self.stopped = True
        starting = self.starting
        if starting is not None and starting is not asyncio.current_task():
            # Ctrl-C during start-up: end it first, so nothing it starts is left running (bounded, like every part)
            await cancel_and_wait(starting, timeout=STOP_PART_SECONDS)
        # --- accounts stop ---
        if self.accounts is not None:
            try:  # bounded: a background task that swallows its cancellation must not keep the console from exiting
                await asyncio.wait_for(self.accounts.stop(), STOP_PART_SECONDS)
            except Exception as exc:
                logger.warning("accounts did not stop cleanly ({}); going on", type(exc).__name__)
        for part in (self.notifier, self.notifications):
            if part is not None:
                await asyncio.wait({asyncio.ensure_future(part.stop())}, timeout=STOP_PART_SECONDS)
        audit.shutdown()
        # --- read path stop ---
        for reader in (self.entity_index, self.release_list, self.mirrors, self.health):
            if reader is not None:  # bounded like the tasks below: a stop must never hang the console's exit
                await asyncio.wait({asyncio.ensure_future(reader.stop())}, timeout=STOP_PART_SECONDS)
        for task in self.tasks:
            if task.get_name() != "worker":
                task.cancel()
        for worker in (self.worker, self.notifications_worker):
            if worker is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker.shutdown(), 10)
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=STOP_PART_SECONDS)
        self.tasks.clear()
        if self.embedded is not None:
            await self.embedded.stop()
            self.embedded = None
            logger.info("embedded Temporal server stopped")
        await self.loop_lag.stop()

    async def _connect(self, deadline: float) -> tuple[Client, str | None]:
        """A client, and why Temporal is not reachable yet (None when connected).

        The embedded server is retried with backoff until ``deadline`` (its port opens before its frontend is
        healthy), then EmbeddedServerError. A remote Temporal that is down gives a lazy client at once, so the
        console serves pages that say so while it keeps retrying.
        """
        loop = asyncio.get_running_loop()
        delay, attempt, began, logged = CONNECT_FIRST_RETRY_SECONDS, 0, loop.time(), -PROGRESS_EVERY_SECONDS
        address = self.settings.temporal_address
        while True:
            attempt += 1
            try:
                return await connect(self.settings), None
            except (RuntimeError, RPCError) as exc:
                reason = f"Temporal did not answer (connect): {_short(exc)}"
                if not self.settings.embedded:
                    logger.error("Temporal at {} is unreachable ({}); the console serves pages saying so and keeps "
                                 "retrying", address, reason)
                    return await connect(self.settings, lazy=True), reason
            if self.embedded is not None and self.embedded.process.returncode is not None:
                raise EmbeddedServerError(f"the embedded Temporal server exited ({self.embedded.process.returncode}) "
                                          f"before it became healthy; see {self.embedded.log_path}")
            now = loop.time()
            if now + delay > deadline:
                raise EmbeddedServerError(
                    f"the embedded Temporal server at {address} did not become healthy within "
                    f"{self.settings.STARTUP_TIMEOUT_SECONDS:g}s ({attempt} attempts; last: {reason}); "
                    f"see {self.embedded.log_path if self.embedded else 'its log'}"
                )
            if now - logged >= PROGRESS_EVERY_SECONDS:
                logged = now
                logger.info("waiting for the embedded Temporal server at {} to become healthy ({:.1f}s, attempt {}): "
                            "{}", address, now - began, attempt, reason)
            await asyncio.sleep(delay)
            delay = min(CONNECT_MAX_RETRY_SECONDS, delay * 1.5)

    async def _release_exists(self, release_id: str) -> bool:
        """Whether a release workflow of this id exists (listed, or else described once)."""
        assert self.release_list is not None and self.gateway is not None
        if self.release_list.get(release_id) is not None:
            return True
        try:
            await self.gateway.describe(release_id, origin="notifications")
        except ReleaseNotFound:
            return False
        return True

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


def _short(exc: BaseException) -> str:
    """A connect error in one line (the SDK's messages carry whole gRPC statuses)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


_current: Services | None = None
_startup_failure: str | None = None


def startup_failure() -> str | None:
    """Why the last start-up failed for good (the process then exits with code 1), else None."""
    return _startup_failure


def record_startup_failure(reason: str | None) -> None:
    """Remember (or, with None, forget) why start-up failed."""
    global _startup_failure
    _startup_failure = reason


def current() -> Services:
    """The installed services, parts of which may still be None (RuntimeError before start-up): for the lifecycle
    (app.py) and tests only; pages and API routes use :func:`running` (see the module's docstring)."""
    if _current is None:
        raise RuntimeError("services are not started")
    return _current


def running() -> RunningServices:
    """The started parts (client, read path, accounts …), never None; NotStarted (a RuntimeError the API answers with
    503) before start-up has created them or after shutdown."""
    services = _current
    if services is None or services.running is None:
        raise NotStarted
    return services.running


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
