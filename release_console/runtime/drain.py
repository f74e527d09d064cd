"""Graceful stop: SIGTERM drains the instance before the web server stops.

On the first SIGTERM the instance

1. is marked draining: ``/api/v1/ready`` answers 503 (``draining``), new page requests answer 503 with
   ``Retry-After`` (a load balancer retries them on another instance), and open SSE streams end with an ``end``
   event that says to reconnect later;
2. waits until those streams have ended, at least DRAIN_NOTICE_SECONDS (so probes see it) and at most half of
   SHUTDOWN_GRACE_SECONDS;
3. hands the signal to uvicorn, which stops listening, closes the page websockets (browsers reconnect through the
   load balancer to another instance, keeping their session when sessions live in Redis) and waits for what is
   left at most SHUTDOWN_GRACE_SECONDS (``timeout_graceful_shutdown``); then the console's shutdown hook stops the
   services and flushes the audit log.

A watchdog ends the process if all of this has not finished within SHUTDOWN_GRACE_SECONDS + WATCHDOG_SLACK_SECONDS.
A second SIGTERM (or Ctrl-C) goes straight to uvicorn.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from types import FrameType

import uvicorn
from loguru import logger

DRAIN_NOTICE_SECONDS = 1.0
WATCHDOG_SLACK_SECONDS = 20.0
EXIT_CODE_WATCHDOG = 70


class Drain:
    """Whether this process is draining, and the SSE streams still open on it."""

    def __init__(self) -> None:
        self.active = False
        self.streams = 0
        self._streams_ended = asyncio.Event()
        self._streams_ended.set()

    def stream_opened(self) -> None:
        """An SSE stream started (call :meth:`stream_closed` when it ends)."""
        self.streams += 1
        self._streams_ended.clear()

    def stream_closed(self) -> None:
        """An SSE stream ended."""
        self.streams = max(0, self.streams - 1)
        if self.streams == 0:
            self._streams_ended.set()

    async def run(self, grace_seconds: float) -> None:
        """Start draining; return once the open streams have ended (bounded, see the module docstring)."""
        self.active = True
        loop = asyncio.get_running_loop()
        started = loop.time()
        notice = min(DRAIN_NOTICE_SECONDS, grace_seconds / 2)
        logger.warning("SIGTERM: draining ({} SSE streams open); not ready, no new pages", self.streams)
        try:
            await asyncio.wait_for(self._streams_ended.wait(), grace_seconds / 2)
        except TimeoutError:
            logger.warning("{} SSE streams still open after {:.1f}s; stopping anyway", self.streams, grace_seconds / 2)
        await asyncio.sleep(max(0.0, notice - (loop.time() - started)))


_drain = Drain()


def current() -> Drain:
    """This process's drain state."""
    return _drain


def reset() -> Drain:
    """A fresh drain state (each start of the app; NiceGUI's test fixtures start the app many times per process)."""
    global _drain
    _drain = Drain()
    return _drain


def install_sigterm_drain(grace_seconds: float) -> bool:
    """Put the drain in front of the web server's SIGTERM handler; False when signals cannot be handled here
    (not the main thread, or no handler installed, as under the test fixtures)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    server_handler = signal.getsignal(signal.SIGTERM)
    if not callable(server_handler) or not isinstance(getattr(server_handler, "__self__", None), uvicorn.Server):
        return False  # not served by uvicorn (NiceGUI's test fixtures), or installed already
    loop = asyncio.get_running_loop()
    drain = current()

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if drain.active:
            server_handler(sig, frame)  # a second SIGTERM: no more waiting
            return
        drain.active = True
        _start_watchdog(grace_seconds + WATCHDOG_SLACK_SECONDS)
        loop.call_soon_threadsafe(_spawn, drain.run(grace_seconds), lambda: server_handler(sig, frame))

    signal.signal(signal.SIGTERM, on_sigterm)
    return True


_background: set[asyncio.Task[None]] = set()


def _spawn(draining: Coroutine[object, object, None], then: Callable[[], None]) -> None:
    async def drain_then_stop() -> None:
        try:
            await draining
        finally:
            then()

    task = asyncio.get_running_loop().create_task(drain_then_stop(), name="sigterm-drain")
    _background.add(task)
    task.add_done_callback(_background.discard)


def _start_watchdog(seconds: float) -> None:
    def watch() -> None:
        time.sleep(seconds)
        logger.error("graceful stop did not finish within {:.0f}s: exiting now", seconds)
        os._exit(EXIT_CODE_WATCHDOG)

    threading.Thread(target=watch, name="sigterm-watchdog", daemon=True).start()
