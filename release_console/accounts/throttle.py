"""Brute-force protection: failed logins counted per (username, client address) and per client address.

``LoginThrottle`` keeps the counts in this process's memory (one instance); ``RedisLoginThrottle`` keeps them in
Redis with the same rules, so every console instance sees every failure. ``login_throttle`` picks one from the
settings (REDIS_URL). Both have the async interface of ``Throttle``.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from loguru import logger

from ..core.shared_state import ERRORS, key_prefix

if TYPE_CHECKING:
    import redis.asyncio as redis_async

    from ..core.config import Settings

ADDRESS_FACTOR = 4  # an address may fail for a few usernames before it is blocked
MAX_WINDOWS = 100_000
FALLBACK_LOG_SECONDS = 60.0


class Throttle(Protocol):
    """What AccountsService.authenticate needs from a login throttle."""

    async def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until a login for this username from this address is allowed again, or None when allowed now."""
        ...

    async def failed(self, username: str, address: str | None) -> None:
        """Count one failure."""
        ...

    async def succeeded(self, username: str, address: str | None = None) -> None:
        """A successful login: forget the failures of its own (username, address) pair."""
        ...


@dataclass
class _Window:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle:
    """Failed logins are counted per (username, client address) and per client address, never per username alone.

    A pair is locked for ``lockout_seconds`` after ``max_failures`` failures within ``lockout_seconds``; an address
    after ``max_failures * ADDRESS_FACTOR`` failures (for any usernames). So guessing from one address is slowed
    down, while nobody can lock an account out: its owner, from an address without recent failures, still logs in.
    """

    def __init__(self, max_failures: int, lockout_seconds: float, clock: Callable[[], float]) -> None:
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self._pairs: dict[str, dict[str, _Window]] = {}  # username -> address ("-" when unknown) -> window
        self._addresses: dict[str, _Window] = {}
        self._count = 0  # windows created since the last prune, plus those it kept
        self._prune_at = MAX_WINDOWS

    def _windows(self, username: str, address: str | None, *, create: bool = False) -> list[tuple[_Window, int]]:
        name, where = username.lower(), address or "-"
        pairs = self._pairs.setdefault(name, {}) if create else self._pairs.get(name, {})
        found = [(pairs.setdefault(where, _Window()) if create else pairs.get(where), self.max_failures)]
        if address:
            window = self._addresses.setdefault(address, _Window()) if create else self._addresses.get(address)
            found.append((window, self.max_failures * ADDRESS_FACTOR))
        return [(w, limit) for w, limit in found if w is not None]

    async def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until a login for this username from this address is allowed again, or None when allowed now."""
        now = self.clock()
        longest = max((w.locked_until - now for w, _ in self._windows(username, address)), default=0)
        return math.ceil(longest) if longest > 0 else None

    async def failed(self, username: str, address: str | None) -> None:
        """Count one failure; lock the windows that reached their limit."""
        now = self.clock()
        for window, limit in self._windows(username, address, create=True):
            window.failures = [t for t in window.failures if now - t < self.lockout_seconds] + [now]
            if len(window.failures) >= limit:
                window.locked_until = now + self.lockout_seconds
                window.failures.clear()
        self._count += 1
        if self._count > self._prune_at:  # bound memory under a spray of usernames or addresses
            self._prune(now)

    def _prune(self, now: float) -> None:
        def live(window: _Window) -> bool:
            return window.locked_until > now or any(now - t < self.lockout_seconds for t in window.failures)

        self._addresses = {a: w for a, w in self._addresses.items() if live(w)}
        pairs = {n: {a: w for a, w in by.items() if live(w)} for n, by in self._pairs.items()}
        self._pairs = {n: by for n, by in pairs.items() if by}
        self._count = len(self._addresses) + sum(len(by) for by in self._pairs.values())
        self._prune_at = max(MAX_WINDOWS, 2 * self._count)  # never a prune per failure under a long spray

    async def succeeded(self, username: str, address: str | None = None) -> None:
        """A successful login clears the failures of its own (username, address) pair only: failures for the same
        username from other addresses (someone guessing) stay, and so does the address's own count."""
        self._pairs.get(username.lower(), {}).pop(address or "-", None)


_FAILED_LUA = """
local now, lockout, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local ttl = math.ceil(lockout * 1000)
for i = 1, #KEYS / 2 do
  local failures, lock, limit = KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', failures, '-inf', now - lockout)
  redis.call('ZADD', failures, now, member)
  if redis.call('ZCARD', failures) >= limit then
    redis.call('SET', lock, string.format('%.17g', now + lockout), 'PX', ttl)
    redis.call('DEL', failures)
  else
    redis.call('PEXPIRE', failures, ttl)
  end
end
return 1
"""
"""One failure, atomically, for each window (pair, then address): drop failures older than the lockout, add this
one, and lock the window (a key holding the time it ends, expiring with it) when it reached its limit."""


class RedisLoginThrottle:
    """``LoginThrottle``'s rules with the counts in Redis, shared by every console instance.

    Per window (a (username, address) pair, and an address): a sorted set of failure times and a lock key holding
    the time the lock ends; both expire after ``lockout_seconds``, so Redis memory is bounded by the failures of the
    last lockout period. Key names carry a keyed hash of the username and address (never the values: no key
    separators can be injected, and Redis does not show who failed from where). Times come from ``clock`` (the
    accounts service's), so instances compare lock ends on the same time scale.

    When Redis fails during a login, that call uses ``fallback`` (an in-memory ``LoginThrottle``): logins keep
    working and guessing is still slowed down per instance; the error is logged at most once a minute.
    ``retry_after`` always consults the fallback too, so a lock taken during an outage holds after it.
    """

    def __init__(self, redis: redis_async.Redis, *, max_failures: int, lockout_seconds: float,
                 clock: Callable[[], float], key_prefix: str, secret: bytes) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self.prefix = f"{key_prefix}throttle:"
        self.fallback = LoginThrottle(max_failures, lockout_seconds, clock)
        self._key = hashlib.sha256(b"release-console login throttle\0" + secret).digest()
        self._failed = redis.register_script(_FAILED_LUA)
        self._logged_at: float | None = None
        self.fallbacks = 0  # calls answered from memory because Redis failed

    def _hash(self, *parts: str) -> str:
        data = "\0".join(parts).encode("utf-8", errors="surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).hexdigest()

    def _keys(self, username: str, address: str | None) -> list[tuple[str, str, int]]:
        """(failures key, lock key, limit) per window: the pair, and the address when known."""
        pair = f"{self.prefix}pair:{self._hash(username.lower(), address or '-')}"
        found = [(f"{pair}:failures", f"{pair}:lock", self.max_failures)]
        if address:
            where = f"{self.prefix}address:{self._hash(address)}"
            found.append((f"{where}:failures", f"{where}:lock", self.max_failures * ADDRESS_FACTOR))
        return found

    def _redis_failed(self, exc: BaseException) -> None:
        self.fallbacks += 1
        now = time.monotonic()
        if self._logged_at is None or now - self._logged_at >= FALLBACK_LOG_SECONDS:
            self._logged_at = now
            logger.error("login throttle: Redis failed ({}: {}); counting failed logins in this instance's memory "
                         "until it answers", type(exc).__name__, str(exc)[:200])

    async def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until a login for this username from this address is allowed again, or None when allowed now."""
        local = await self.fallback.retry_after(username, address)
        try:
            ends = await self.redis.mget([lock for _, lock, _ in self._keys(username, address)])
        except ERRORS as exc:
            self._redis_failed(exc)
            return local
        now = self.clock()
        longest = max((float(end) - now for end in ends if end is not None), default=0.0)
        shared = math.ceil(longest) if longest > 0 else None
        return max((w for w in (local, shared) if w is not None), default=None)

    async def failed(self, username: str, address: str | None) -> None:
        """Count one failure in every window; lock those that reached their limit (one atomic script)."""
        windows = self._keys(username, address)
        now = self.clock()
        member = f"{now!r}:{uuid.uuid4().hex[:12]}"
        try:
            await self._failed(keys=[k for f, lock, _ in windows for k in (f, lock)],
                               args=[repr(float(now)), repr(float(self.lockout_seconds)), member,
                                     *(limit for _, _, limit in windows)])
        except ERRORS as exc:
            self._redis_failed(exc)
            await self.fallback.failed(username, address)

    async def succeeded(self, username: str, address: str | None = None) -> None:
        """Forget the failures (and a lock) of this (username, address) pair only, as ``LoginThrottle`` does."""
        await self.fallback.succeeded(username, address)
        failures, lock, _ = self._keys(username, address)[0]
        try:
            await self.redis.delete(failures, lock)
        except ERRORS as exc:
            self._redis_failed(exc)


def login_throttle(settings: Settings, clock: Callable[[], float],
                   redis: redis_async.Redis | None = None) -> Throttle:
    """The shared throttle when a Redis client is given (REDIS_URL set), else the in-memory one."""
    if redis is None:
        return LoginThrottle(settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_SECONDS, clock)
    return RedisLoginThrottle(
        redis, max_failures=settings.LOGIN_MAX_FAILURES, lockout_seconds=settings.LOGIN_LOCKOUT_SECONDS,
        clock=clock, key_prefix=key_prefix(), secret=settings.secret_key().encode(),
    )
