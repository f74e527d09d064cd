"""Brute-force protection: failed logins counted per (username, client address) and per client address (an IPv6
address by its /64, which one client usually holds whole).

An attempt is counted as a failure *before* its password is checked and taken back when it succeeds, so guesses
sent in parallel are held to the same limit as guesses sent one after another.

``LoginThrottle`` keeps the counts in this process's memory (one instance); ``RedisLoginThrottle`` keeps them in
Redis with the same rules, so every console instance sees every failure. ``login_throttle`` picks one from the
settings (REDIS_URL). Both have the async interface of ``Throttle``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from loguru import logger

from ..runtime.shared_state import ERRORS, key_prefix

if TYPE_CHECKING:
    import redis.asyncio as redis_async

    from ..core.config import Settings

ADDRESS_FACTOR = 4  # an address may fail for a few usernames before it is blocked
MAX_WINDOWS = 100_000
FALLBACK_LOG_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Reservation:
    """One login attempt, counted as a failure before its password is checked (``reserve``).

    ``retry_after`` is set when the attempt was refused (nothing was counted then). An attempt whose password was
    right is ``release``d; one that is never released stays a failure. Counting first means attempts sent in
    parallel cannot all get their guess checked before the first failure is recorded.
    """

    username: str
    address: str | None
    member: str
    retry_after: int | None = None


IPV6_CLIENT_PREFIX = 64
"""One IPv6 client usually holds a whole /64: limits per address count the /64."""


def rate_limit_key(address: str) -> str:
    """What per-address limits count: an IPv4 address as it is, an IPv6 address by its /64 (an IPv4-mapped
    IPv6 address as its IPv4 address); anything else unchanged."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


class Throttle(Protocol):
    """What AccountsService.authenticate needs from a login throttle."""

    async def reserve(self, username: str, address: str | None) -> Reservation:
        """Count this attempt as a failure now, or refuse it (``retry_after``) when a window is locked."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """The attempt succeeded: forget its (username, address) pair's failures and its own count."""
        ...

    async def cancel(self, reservation: Reservation) -> None:
        """No password was checked (busy, unavailable, broken): take this attempt back, nothing else."""
        ...

    async def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until a login for this username from this address is allowed again, or None when allowed now."""
        ...


def _member(now: float) -> str:
    return f"{now!r}:{uuid.uuid4().hex[:12]}"


def _refused(username: str, address: str | None, wait: float) -> Reservation:
    return Reservation(username, address, "", retry_after=max(1, math.ceil(wait)))


@dataclass
class _Window:
    failures: dict[str, float] = field(default_factory=dict)
    """Attempt -> when it was counted."""
    locked_until: float = 0.0
    locked_by: str = ""
    """The attempt that reached the limit: if it succeeds, it takes its lock back."""


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
        address = rate_limit_key(address) if address else None
        name, where = username.lower(), address or "-"
        pairs = self._pairs.setdefault(name, {}) if create else self._pairs.get(name, {})
        found = [(pairs.setdefault(where, _Window()) if create else pairs.get(where), self.max_failures)]
        if address:
            window = self._addresses.setdefault(address, _Window()) if create else self._addresses.get(address)
            found.append((window, self.max_failures * ADDRESS_FACTOR))
        return [(w, limit) for w, limit in found if w is not None]

    async def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until a login for this username from this address is allowed again, or None when allowed now."""
        return self._wait(username, address)

    def _wait(self, username: str, address: str | None) -> int | None:
        now = self.clock()
        longest = max((w.locked_until - now for w, _ in self._windows(username, address)), default=0)
        return math.ceil(longest) if longest > 0 else None

    async def reserve(self, username: str, address: str | None) -> Reservation:
        """Refuse the attempt while a window is locked; otherwise count it now, locking the windows it fills."""
        return self.reserve_now(username, address)

    def reserve_now(self, username: str, address: str | None) -> Reservation:
        """``reserve`` without awaiting anything: check and count are one step on the event loop."""
        wait = self._wait(username, address)
        if wait is not None:
            return _refused(username, address, wait)
        now = self.clock()
        member = _member(now)
        for window, limit in self._windows(username, address, create=True):
            window.failures = {m: t for m, t in window.failures.items() if now - t < self.lockout_seconds}
            window.failures[member] = now
            if len(window.failures) >= limit:
                window.locked_until, window.locked_by = now + self.lockout_seconds, member
        self._count += 1
        if self._count > self._prune_at:  # bound memory under a spray of usernames or addresses
            self._prune(now)
        return Reservation(username, address, member)

    def _prune(self, now: float) -> None:
        def live(window: _Window) -> bool:
            return window.locked_until > now or any(now - t < self.lockout_seconds for t in window.failures.values())

        self._addresses = {a: w for a, w in self._addresses.items() if live(w)}
        pairs = {n: {a: w for a, w in by.items() if live(w)} for n, by in self._pairs.items()}
        self._pairs = {n: by for n, by in pairs.items() if by}
        self._count = len(self._addresses) + sum(len(by) for by in self._pairs.values())
        self._prune_at = max(MAX_WINDOWS, 2 * self._count)  # never a prune per failure under a long spray

    async def release(self, reservation: Reservation) -> None:
        """A successful login clears the failures of its own (username, address) pair only: failures for the same
        username from other addresses (someone guessing) stay. The address keeps its other failures; this attempt
        is taken off it (and the lock it took, if it took one)."""
        self.release_now(reservation)

    async def cancel(self, reservation: Reservation) -> None:
        """Take this attempt off both windows (and the locks it took); the other failures stay."""
        if reservation.retry_after is not None:
            return
        for window, _limit in self._windows(reservation.username, reservation.address):
            window.failures.pop(reservation.member, None)
            if window.locked_by == reservation.member:
                window.locked_until, window.locked_by = 0.0, ""

    def release_now(self, reservation: Reservation) -> None:
        if reservation.retry_after is not None:
            return
        address = rate_limit_key(reservation.address) if reservation.address else None
        self._pairs.get(reservation.username.lower(), {}).pop(address or "-", None)
        window = self._addresses.get(address) if address else None
        if window is not None:
            window.failures.pop(reservation.member, None)
            if window.locked_by == reservation.member:
                window.locked_until, window.locked_by = 0.0, ""


_RESERVE_LUA = """
local now, lockout, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local ttl = math.ceil(lockout * 1000)
local wait = 0
for i = 1, #KEYS / 2 do
  local lock = redis.call('GET', KEYS[2 * i])
  if lock then
    local ends = tonumber(string.match(lock, '^[^ ]+'))
    if ends and ends - now > wait then wait = ends - now end
  end
end
if wait > 0 then return tostring(wait) end
for i = 1, #KEYS / 2 do
  local failures, lock, limit = KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[3 + i])
  redis.call('ZREMRANGEBYSCORE', failures, '-inf', now - lockout)
  redis.call('ZADD', failures, now, member)
  redis.call('PEXPIRE', failures, ttl)
  if redis.call('ZCARD', failures) >= limit then
    redis.call('SET', lock, string.format('%.17g', now + lockout) .. ' ' .. member, 'PX', ttl)
  end
end
return '0'
"""
"""Check every window's lock and, when none holds, count the attempt in each (pair, then address) in one atomic
step: drop failures older than the lockout, add this one, and lock the window (a key holding the time it ends and
the attempt that filled it, expiring with it) when it reached its limit. The failures stay: if the attempt that
filled the window turns out right, it takes the lock back and the others still count. Answers the seconds to
wait, or 0."""

_RELEASE_LUA = """
local member = ARGV[1]
redis.call('DEL', KEYS[1], KEYS[2])
if #KEYS > 2 then
  redis.call('ZREM', KEYS[3], member)
  local lock = redis.call('GET', KEYS[4])
  if lock and string.match(lock, ' (.+)$') == member then redis.call('DEL', KEYS[4]) end
end
return 1
"""
"""A success: forget its pair's failures and lock; take the attempt off its address (and the lock it took)."""

_CANCEL_LUA = """
local member = ARGV[1]
for i = 1, #KEYS / 2 do
  redis.call('ZREM', KEYS[2 * i - 1], member)
  local lock = redis.call('GET', KEYS[2 * i])
  if lock and string.match(lock, ' (.+)$') == member then redis.call('DEL', KEYS[2 * i]) end
end
return 1
"""
"""No password was checked: take the attempt off every window (and the locks it took), nothing else."""


class RedisLoginThrottle:
    """``LoginThrottle``'s rules with the counts in Redis, shared by every console instance.

    Per window (a (username, address) pair, and an address): a sorted set of attempts and a lock key holding the
    time the lock ends; both expire after ``lockout_seconds``, so Redis memory is bounded by the failures of the
    last lockout period. Key names carry a keyed hash of the username and address (never the values: no key
    separators can be injected, and Redis does not show who failed from where). Times come from ``clock`` (the
    accounts service's), so instances compare lock ends on the same time scale.

    When Redis fails during a login, that call uses ``fallback`` (an in-memory ``LoginThrottle``): logins keep
    working and guessing is still slowed down per instance; the error is logged at most once a minute. A
    reservation also checks the fallback first, so a lock taken during an outage holds after it.
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
        self._reserve = redis.register_script(_RESERVE_LUA)
        self._release = redis.register_script(_RELEASE_LUA)
        self._cancel = redis.register_script(_CANCEL_LUA)
        self._logged_at: float | None = None
        self.fallbacks = 0  # calls answered from memory because Redis failed

    def _hash(self, *parts: str) -> str:
        data = "\0".join(parts).encode("utf-8", errors="surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).hexdigest()

    def _keys(self, username: str, address: str | None) -> list[tuple[str, str, int]]:
        """(failures key, lock key, limit) per window: the pair, and the address when known."""
        address = rate_limit_key(address) if address else None
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
        longest = max((_lock_end(end) - now for end in ends if end is not None), default=0.0)
        shared = math.ceil(longest) if longest > 0 else None
        return max((w for w in (local, shared) if w is not None), default=None)

    async def reserve(self, username: str, address: str | None) -> Reservation:
        """Refuse the attempt while a window is locked (here or in the fallback); otherwise count it in Redis."""
        local = await self.fallback.retry_after(username, address)
        if local is not None:
            return _refused(username, address, local)
        windows = self._keys(username, address)
        now = self.clock()
        member = _member(now)
        try:
            wait = float(await self._reserve(
                keys=[k for f, lock, _ in windows for k in (f, lock)],
                args=[repr(float(now)), repr(float(self.lockout_seconds)), member, *(limit for _, _, limit in windows)],
            ))
        except ERRORS as exc:
            self._redis_failed(exc)
            return self.fallback.reserve_now(username, address)
        if wait > 0:
            return _refused(username, address, wait)
        return Reservation(username, address, member)

    async def release(self, reservation: Reservation) -> None:
        """Forget the pair's failures and lock, and this attempt's count on its address, as ``LoginThrottle``."""
        if reservation.retry_after is not None:
            return
        self.fallback.release_now(reservation)
        windows = self._keys(reservation.username, reservation.address)
        try:
            await self._release(keys=[k for f, lock, _ in windows for k in (f, lock)], args=[reservation.member])
        except ERRORS as exc:
            self._redis_failed(exc)

    async def cancel(self, reservation: Reservation) -> None:
        """Take this attempt off its windows, as ``LoginThrottle.cancel``."""
        if reservation.retry_after is not None:
            return
        await self.fallback.cancel(reservation)
        windows = self._keys(reservation.username, reservation.address)
        try:
            await self._cancel(keys=[k for f, lock, _ in windows for k in (f, lock)], args=[reservation.member])
        except ERRORS as exc:
            self._redis_failed(exc)


def _lock_end(value: bytes | str) -> float:
    """When a lock ends (its value is ``"<end> <attempt>"``)."""
    text = value.decode() if isinstance(value, bytes) else value
    return float(text.split(" ", 1)[0])


def login_throttle(settings: Settings, clock: Callable[[], float],
                   redis: redis_async.Redis | None = None) -> Throttle:
    """The shared throttle when a Redis client is given (REDIS_URL set), else the in-memory one."""
    if redis is None:
        return LoginThrottle(settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_SECONDS, clock)
    return RedisLoginThrottle(
        redis, max_failures=settings.LOGIN_MAX_FAILURES, lockout_seconds=settings.LOGIN_LOCKOUT_SECONDS,
        clock=clock, key_prefix=key_prefix(), secret=settings.secret_key().encode(),
    )
