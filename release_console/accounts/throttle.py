"""Brute-force protection: failed logins counted per (username, client address) and per client address."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

ADDRESS_FACTOR = 4  # an address may fail for a few usernames before it is blocked
MAX_WINDOWS = 100_000


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

    def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until a login for this username from this address is allowed again, or None when allowed now."""
        now = self.clock()
        longest = max((w.locked_until - now for w, _ in self._windows(username, address)), default=0)
        return math.ceil(longest) if longest > 0 else None

    def failed(self, username: str, address: str | None) -> None:
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

    def succeeded(self, username: str, address: str | None = None) -> None:
        """A successful login clears the failures of its own (username, address) pair only: failures for the same
        username from other addresses (someone guessing) stay, and so does the address's own count."""
        self._pairs.get(username.lower(), {}).pop(address or "-", None)
