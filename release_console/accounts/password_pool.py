"""bcrypt's own small thread pool.

A password check costs about 0.2 s of CPU (BCRYPT_ROUNDS=12). Run in the default executor, a password spray would
fill the threads that the read path's snapshot checks and visibility decoding share. Here checks get
``BCRYPT_THREADS`` threads and at most ``BCRYPT_MAX_WAITING`` checks wait for them; one more waits at most
BUSY_WAIT_SECONDS for a place and is then refused (``LoginBusy``: 429 with Retry-After) instead of queueing behind
the spray. Each check takes a core while it runs: on a small machine one thread leaves the others to the read path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

from ..core.security import hash_password, verify_password
from .errors import LoginBusy

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
BUSY = "Too many logins are being checked right now; try again in a second"
BUSY_WAIT_SECONDS = 1.0
"""How long a login waits for a place before it is refused."""


class PasswordPool:
    """Password checks and hashes on a bounded pool of their own."""

    def __init__(self, threads: int, max_waiting: int, busy_wait: float = BUSY_WAIT_SECONDS) -> None:
        self.threads = threads
        self.max_waiting = max_waiting
        self.busy_wait = busy_wait
        self.in_flight = 0
        self.refused = 0
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bcrypt")
        self._places: asyncio.Semaphore | None = None

    async def check(self, plain: str, hashed: str) -> bool:
        """Whether ``plain`` matches ``hashed``; LoginBusy when no place in the pool and its queue came free within
        ``busy_wait`` seconds (waiting costs a sleeping coroutine: a spray's refusals are paced, not free)."""
        if self._places is None:
            self._places = asyncio.Semaphore(self.threads + self.max_waiting)
        try:
            await asyncio.wait_for(self._places.acquire(), self.busy_wait)
        except TimeoutError:
            self.refused += 1
            raise LoginBusy(BUSY, retry_after=1) from None
        try:
            return await self._run(verify_password, plain, hashed)
        finally:
            self._places.release()

    async def hash(self, plain: str, rounds: int) -> str:
        """A new bcrypt hash (admin actions: waits for a thread, never refused)."""
        return await self._run(lambda p: hash_password(p, rounds=rounds), plain)

    async def _run(self, function: Callable[[*Ts], T], *args: *Ts) -> T:
        self.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self.in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
