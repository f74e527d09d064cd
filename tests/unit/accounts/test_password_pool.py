"""bcrypt's own pool: checks beyond its threads and queue wait briefly for a place, then are refused."""

from __future__ import annotations

import asyncio

import pytest

from release_console.accounts.errors import LoginBusy
from release_console.accounts.password_pool import PasswordPool
from release_console.core.security import hash_password


async def test_a_full_pool_refuses_after_a_short_wait_and_serves_again_after() -> None:
    hashed = hash_password("right-password-1", rounds=12)  # a check takes a few hundred milliseconds
    pool = PasswordPool(threads=1, max_waiting=0, busy_wait=0.05)
    first = asyncio.create_task(pool.check("right-password-1", hashed))
    await asyncio.sleep(0)  # it holds the one place
    with pytest.raises(LoginBusy) as refused:
        await pool.check("wrong-password-1", hashed)
    assert refused.value.status == 429 and refused.value.retry_after == 1 and pool.refused == 1
    assert await first is True
    assert await pool.check("wrong-password-1", hashed) is False  # a place is free again
    pool.close()
