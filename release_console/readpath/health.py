"""The shared Temporal health signal: is Temporal reachable right now?

One cheap probe (GetSystemInfo, TEMPORAL_HEALTH_TIMEOUT_SECONDS, no SDK retries) every TEMPORAL_HEALTH_SECONDS, plus
what the read path's calls report (a call failing as "unavailable" probes at once). Two failed probes in a row (the
second right after the first) mark Temporal down: listeners hear it (mirrors go stale, the release list reports the
outage), calls in flight are cut short with TemporalUnavailable and new calls short-circuit without touching Temporal
— instead of each waiting out the SDK's retries. One good probe marks it up again and listeners hear that too (the
pollers poll at once), so a console recovers within about one probe interval of Temporal's return.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from loguru import logger
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError

from ..core.config import Settings
from ..core.listeners import Listeners
from ..core.tasks import cancel_and_wait
from .errors import TemporalUnavailable

T = TypeVar("T")
HealthListener = Callable[["TemporalHealth"], None]
FAILURES_TO_DOWN = 2
"""Consecutive failed probes (the second sent right after the first) before Temporal counts as unreachable."""
RETRY_AFTER_SECONDS = 2.0
"""Retry-After of the 503s answered while Temporal is down."""


class TemporalHealth:
    """Up or down, since when and why; shared by every reader of the process."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        *,
        up: bool = True,
        reason: str | None = None,
        probe: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.client = client
        self.interval = settings.TEMPORAL_HEALTH_SECONDS
        self.timeout = settings.TEMPORAL_HEALTH_TIMEOUT_SECONDS
        self.address = settings.temporal_address
        self.up = up
        self.reason: str | None = None if up else (reason or "not reached yet")
        """Why Temporal counts as unreachable (None while up)."""
        self.since = datetime.now(UTC)
        """When the current state began."""
        self.probes = 0
        self._probe = probe or self._system_info
        self._listeners: Listeners[HealthListener] = Listeners("health")
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        # Any: guarded calls of every result type
        self._inflight: set[asyncio.Future[Any]] = set()
        self._cut: set[asyncio.Future[Any]] = set()  # Any: as _inflight
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start probing."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="temporal health")

    async def stop(self) -> None:
        """Stop probing."""
        await cancel_and_wait(self._task)
        self._task = None

    # ---- reading ------------------------------------------------------------------------------------
    def add_listener(self, callback: HealthListener) -> Callable[[], None]:
        """Call ``callback(health)`` after every change between up and down; returns the unsubscribe."""
        return self._listeners.add(callback)

    def unavailable(self) -> TemporalUnavailable:
        """The error a call short-circuited while Temporal is down raises (503 with Retry-After)."""
        return TemporalUnavailable(self.reason or "Temporal is unreachable", retry_after=RETRY_AFTER_SECONDS)

    async def wait_changed(self, timeout: float) -> bool:
        """Wait until the next change between up and down (or ``timeout``); True when one happened."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # ---- what calls report ------------------------------------------------------------------------
    def suspect(self) -> None:
        """A call failed as if Temporal were unreachable: probe now instead of at the next interval."""
        self._wake.set()

    async def guard(self, call: Awaitable[T], timeout: float) -> T:
        """Await ``call`` (with ``timeout``), short-circuited while Temporal is down and cut short when it goes down."""
        if not self.up:
            if asyncio.iscoroutine(call):
                call.close()  # never started: no "never awaited" warning
            raise self.unavailable()
        future = asyncio.ensure_future(call)
        self._inflight.add(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if future in self._cut and (current is None or not current.cancelling()):
                raise self.unavailable() from None
            raise
        finally:
            self._inflight.discard(future)
            self._cut.discard(future)

    # ---- probing --------------------------------------------------------------------------------------
    async def probe_once(self) -> str | None:
        """One probe: None when Temporal answered, else why not."""
        self.probes += 1
        try:
            await asyncio.wait_for(self._probe(), self.timeout + 0.5)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return f"Temporal did not answer (health) within {self.timeout:g}s"
        except RPCError as exc:
            return f"Temporal did not answer (health): {exc.status.name.lower()}"
        except Exception as exc:  # a lazy client that cannot connect raises RuntimeError
            return f"Temporal did not answer (health): {str(exc)[:160] or type(exc).__name__}"
        return None

    async def _system_info(self) -> object:
        request = GetSystemInfoRequest()
        return await self.client.workflow_service.get_system_info(request, timeout=timedelta(seconds=self.timeout))

    async def _loop(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            problem = await self.probe_once()
            if problem is None:
                failures = 0
                self._set(True, None)
            else:
                failures += 1
                if failures < FAILURES_TO_DOWN and self.up:
                    continue  # one failure may be a blip: ask again at once before calling it an outage
                self._set(False, problem)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    def _set(self, up: bool, reason: str | None) -> None:
        if up == self.up:
            if not up:
                self.reason = reason
            return
        self.up, self.reason, self.since = up, reason, datetime.now(UTC)
        if up:
            logger.info("Temporal at {} is reachable again", self.address)
        else:
            logger.warning("Temporal at {} is unreachable ({}); reads short-circuit until it answers", self.address,
                           reason)
            for future in list(self._inflight):
                if not future.done():
                    self._cut.add(future)
                    future.cancel()
        self._changed.set()
        self._changed = asyncio.Event()
        self._listeners.notify(self)
