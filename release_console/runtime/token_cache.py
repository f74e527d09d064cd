"""Admitted bearer tokens, kept decoded for their remaining life so a request does not pay for JWT decoding.

Any change of the accounts version (a user disabled, removed, demoted, a password changed …) empties the cache, so
the next request of every token is checked against the new users at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from ..core.security import TokenPayload

P = TypeVar("P")
"""Whatever the caller resolves a token to (the API: an accounts Principal)."""

MAX_ENTRIES = 10_000


class TokenCache(Generic[P]):
    """token → (claims, principal) of tokens that passed every check under one accounts version."""

    def __init__(self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self.hits = 0
        self._entries: dict[str, tuple[TokenPayload, P]] = {}
        self._version: int | None = None

    def get(self, token: str, accounts_version: int) -> tuple[TokenPayload, P] | None:
        """The cached admission of ``token``, or None (unknown, expired, or the accounts changed since)."""
        if accounts_version != self._version:
            self._entries.clear()
            self._version = accounts_version
            return None
        entry = self._entries.get(token)
        if entry is None:
            return None
        if self.clock() >= entry[0].exp:
            del self._entries[token]
            return None
        self.hits += 1
        return entry

    def put(self, token: str, accounts_version: int, payload: TokenPayload, principal: P) -> None:
        """Remember an admitted token (the oldest entry makes room when full)."""
        if accounts_version != self._version:
            self._entries.clear()
            self._version = accounts_version
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = (payload, principal)

    def __len__(self) -> int:
        return len(self._entries)
