"""The login throttle's rules in memory: per (username, address) and per address, never per username alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from release_console.accounts.throttle import ADDRESS_FACTOR, LoginThrottle, Throttle
from release_console.core.config import Settings

MakeThrottle = Callable[[int, float, Callable[[], float]], Throttle]


"""(max_failures, lockout_seconds, clock) -> a throttle; the rules below hold for every implementation
(tests/test_redis_state.py runs them on the Redis one)."""


def memory_throttle(max_failures: int, lockout_seconds: float, clock: Callable[[], float]) -> Throttle:
    return LoginThrottle(max_failures=max_failures, lockout_seconds=lockout_seconds, clock=clock)


async def test_throttle_counts_pairs_and_addresses(make: MakeThrottle = memory_throttle) -> None:
    now = [1000.0]
    throttle = make(3, 60, lambda: now[0])
    for _ in range(3):
        await throttle.failed("alice", "10.0.0.1")
    assert await throttle.retry_after("alice", "10.0.0.1") == 60
    assert await throttle.retry_after("ALICE", "10.0.0.1") == 60  # usernames are case-insensitive
    assert await throttle.retry_after("alice", "10.0.0.2") is None  # the owner elsewhere is not locked out
    assert await throttle.retry_after("bob", "10.0.0.1") is None  # nor other users from that address (yet)
    for i in range(3 * ADDRESS_FACTOR - 3):
        await throttle.failed(f"user{i}", "10.0.0.1")
    assert await throttle.retry_after("bob", "10.0.0.1") == 60  # the address itself is now blocked
    await throttle.succeeded("alice", "10.0.0.2")
    assert await throttle.retry_after("alice", "10.0.0.1") == 60  # a success elsewhere clears nothing here
    now[0] += 61
    assert await throttle.retry_after("alice", "10.0.0.1") is None
    assert await throttle.retry_after("bob", "10.0.0.1") is None


async def test_a_success_clears_its_own_pair_only(make: MakeThrottle = memory_throttle) -> None:
    throttle = make(3, 60, lambda: 0.0)
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"):
        await throttle.failed("alice", address)
    await throttle.succeeded("alice", "10.0.0.1")
    await throttle.failed("alice", "10.0.0.1")
    assert await throttle.retry_after("alice", "10.0.0.1") is None  # the owner's typos before the success are gone
    await throttle.failed("alice", "10.0.0.2")
    assert await throttle.retry_after("alice", "10.0.0.2") == 60  # someone else's guesses were not forgiven
    await throttle.succeeded("alice")  # without an address: only the pair of unknown address
    assert await throttle.retry_after("alice", "10.0.0.2") == 60


def test_trusted_proxies_setting() -> None:
    assert Settings(TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8").TRUSTED_PROXIES == ["127.0.0.1", "10.0.0.0/8"]
    assert Settings(TRUSTED_PROXIES='["::1", "10.0.0.0/8"]').TRUSTED_PROXIES == ["::1", "10.0.0.0/8"]
    assert Settings().TRUSTED_PROXIES == []
    with pytest.raises(ValidationError, match="not an IP address or CIDR"):
        Settings(TRUSTED_PROXIES="proxy.example.com")




