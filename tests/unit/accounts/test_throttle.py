"""The login throttle's rules in memory: per (username, address) and per address, never per username alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from release_console.accounts.throttle import ADDRESS_FACTOR, LoginThrottle, Throttle, rate_limit_key
from release_console.core.config import Settings

MakeThrottle = Callable[[int, float, Callable[[], float]], Throttle]


"""(max_failures, lockout_seconds, clock) -> a throttle; the rules below hold for every implementation
(tests/test_redis_state.py runs them on the Redis one)."""


async def fail(throttle: Throttle, username: str, address: str | None) -> None:
    """One attempt whose password was wrong: reserved and never released."""
    assert (await throttle.reserve(username, address)).retry_after is None


async def succeed(throttle: Throttle, username: str, address: str | None = None) -> None:
    """One attempt whose password was right."""
    attempt = await throttle.reserve(username, address)
    assert attempt.retry_after is None
    await throttle.release(attempt)


def memory_throttle(max_failures: int, lockout_seconds: float, clock: Callable[[], float]) -> Throttle:
    return LoginThrottle(max_failures=max_failures, lockout_seconds=lockout_seconds, clock=clock)


async def test_throttle_counts_pairs_and_addresses(make: MakeThrottle = memory_throttle) -> None:
    now = [1000.0]
    throttle = make(3, 60, lambda: now[0])
    for _ in range(3):
        await fail(throttle, "alice", "10.0.0.1")
    assert await throttle.retry_after("alice", "10.0.0.1") == 60
    assert await throttle.retry_after("ALICE", "10.0.0.1") == 60  # usernames are case-insensitive
    assert await throttle.retry_after("alice", "10.0.0.2") is None  # the owner elsewhere is not locked out
    assert await throttle.retry_after("bob", "10.0.0.1") is None  # nor other users from that address (yet)
    for i in range(3 * ADDRESS_FACTOR - 3):
        await fail(throttle, f"user{i}", "10.0.0.1")
    assert await throttle.retry_after("bob", "10.0.0.1") == 60  # the address itself is now blocked
    await succeed(throttle, "alice", "10.0.0.2")
    assert await throttle.retry_after("alice", "10.0.0.1") == 60  # a success elsewhere clears nothing here
    now[0] += 61
    assert await throttle.retry_after("alice", "10.0.0.1") is None
    assert await throttle.retry_after("bob", "10.0.0.1") is None


async def test_a_success_clears_its_own_pair_only(make: MakeThrottle = memory_throttle) -> None:
    throttle = make(3, 60, lambda: 0.0)
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"):
        await fail(throttle, "alice", address)
    await succeed(throttle, "alice", "10.0.0.1")
    await fail(throttle, "alice", "10.0.0.1")
    assert await throttle.retry_after("alice", "10.0.0.1") is None  # the owner's typos before the success are gone
    await fail(throttle, "alice", "10.0.0.2")
    assert await throttle.retry_after("alice", "10.0.0.2") == 60  # someone else's guesses were not forgiven
    await succeed(throttle, "alice")  # without an address: only the pair of unknown address
    assert await throttle.retry_after("alice", "10.0.0.2") == 60


async def test_parallel_attempts_get_no_more_guesses_than_serial_ones(make: MakeThrottle = memory_throttle) -> None:
    """Every attempt is counted before its password is checked: 40 at once get 3 guesses, the rest wait."""
    throttle = make(3, 60, lambda: 0.0)
    attempts = await asyncio.gather(*(throttle.reserve("alice", "10.0.0.1") for _ in range(40)))
    assert sum(a.retry_after is None for a in attempts) == 3
    assert {a.retry_after for a in attempts if a.retry_after is not None} == {60}


async def test_the_attempt_that_locked_an_address_takes_the_lock_back_if_right(
        make: MakeThrottle = memory_throttle) -> None:
    throttle = make(1, 60, lambda: 0.0)
    for i in range(ADDRESS_FACTOR - 1):
        await fail(throttle, f"user{i}", "10.0.0.1")
    await succeed(throttle, "owner", "10.0.0.1")  # it filled the address's window, then was right
    assert await throttle.retry_after("someone", "10.0.0.1") is None
    await fail(throttle, "someone", "10.0.0.1")  # the failures before it still count: one more locks again
    assert await throttle.retry_after("other", "10.0.0.1") == 60


async def test_a_cancelled_attempt_takes_back_only_itself(make: MakeThrottle = memory_throttle) -> None:
    """An attempt whose password was never checked (the bcrypt pool was full) is no failure, and it forgives
    nothing else: the guesses before it still count."""
    throttle = make(3, 60, lambda: 0.0)
    await fail(throttle, "alice", "10.0.0.1")
    await fail(throttle, "alice", "10.0.0.1")
    attempt = await throttle.reserve("alice", "10.0.0.1")  # the third: it locks the pair
    assert await throttle.retry_after("alice", "10.0.0.1") == 60
    await throttle.cancel(attempt)
    assert await throttle.retry_after("alice", "10.0.0.1") is None  # its own lock is gone…
    await fail(throttle, "alice", "10.0.0.1")  # …but the two guesses before it count: one more locks again
    assert await throttle.retry_after("alice", "10.0.0.1") == 60


async def test_an_ipv6_client_is_counted_by_its_slash_64(make: MakeThrottle = memory_throttle) -> None:
    """A client holding a /64 cannot take a fresh window per address."""
    throttle = make(3, 60, lambda: 0.0)
    for i in range(3):
        await fail(throttle, "alice", f"2001:db8:1:2::{i + 1:x}")
    assert await throttle.retry_after("alice", "2001:db8:1:2:ffff::9") == 60
    assert await throttle.retry_after("alice", "2001:db8:1:3::1") is None  # another /64
    for i in range(3 * ADDRESS_FACTOR - 3):
        await fail(throttle, f"user{i}", f"2001:db8:1:2:{i:x}::1")
    assert await throttle.retry_after("bob", "2001:db8:1:2::abcd") == 60


def test_rate_limit_keys() -> None:
    assert rate_limit_key("10.0.0.1") == "10.0.0.1"
    assert rate_limit_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert rate_limit_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert rate_limit_key("testclient") == "testclient"


def test_trusted_proxies_setting() -> None:
    assert Settings(TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8").TRUSTED_PROXIES == ["127.0.0.1", "10.0.0.0/8"]
    assert Settings(TRUSTED_PROXIES='["::1", "10.0.0.0/8"]').TRUSTED_PROXIES == ["::1", "10.0.0.0/8"]
    assert Settings().TRUSTED_PROXIES == []
    with pytest.raises(ValidationError, match="not an IP address or CIDR"):
        Settings(TRUSTED_PROXIES="proxy.example.com")
    for everything in ("0.0.0.0/0", "::/0", "10.0.0.1, 0.0.0.0/0"):
        with pytest.raises(ValidationError, match="would trust every address"):
            Settings(TRUSTED_PROXIES=everything)
    with pytest.raises(ValidationError, match=r"host bits set; did you mean 10\.0\.0\.0/8"):
        Settings(TRUSTED_PROXIES="10.1.2.3/8")




