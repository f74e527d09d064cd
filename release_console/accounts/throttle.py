"""Brute-force protection: failed logins counted per username and per client address."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

ADDRESS_FACTOR = 4  # an address may fail for a few usernames before it is blocked


@dataclass
class _Window:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle:
    """After ``max_failures`` failures within ``lockout_seconds`` the key is locked for ``lockout_seconds``."""

    def __init__(self, max_failures: int, lockout_seconds: float, clock: Callable[[], float]) -> None:
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def _keys(self, username: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"user:{username.lower()}", self.max_failures)]
        if address:
            keys.append((f"addr:{address}", self.max_failures * ADDRESS_FACTOR))
        return keys

    def retry_after(self, username: str, address: str | None) -> float | None:
        """Seconds until a login for this username/address is allowed again, or None when allowed now."""
        now = self.clock()
        waits = [w.locked_until - now for k, _ in self._keys(username, address) if (w := self._windows.get(k))]
        longest = max([w for w in waits if w > 0], default=0)
        return math.ceil(longest) if longest > 0 else None

    def failed(self, username: str, address: str | None) -> None:
        """Count one failure; lock keys that reached their limit."""
        now = self.clock()
        for key, limit in self._keys(username, address):
            window = self._windows.setdefault(key, _Window())
            window.failures = [t for t in window.failures if now - t < self.lockout_seconds] + [now]
            if len(window.failures) >= limit:
                window.locked_until = now + self.lockout_seconds
                window.failures.clear()
        if len(self._windows) > 100_000:  # bound memory under a spray of usernames
            self._windows = {k: w for k, w in self._windows.items() if w.locked_until > now or w.failures}

    def succeeded(self, username: str) -> None:
        """A successful login clears the username's failures (not the address's)."""
        self._windows.pop(f"user:{username.lower()}", None)
