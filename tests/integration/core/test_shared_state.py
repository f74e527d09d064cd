"""Shared state in Redis: the login throttle and user sessions seen by several console instances.

A real `redis-server` (the ``redis_server`` fixture). "Two instances" are two throttles, two AccountsService objects or
two NiceGUI user storages, each with its own Redis connection, on the same Redis; the console under test (NiceGUI's
``user`` fixture) is one instance and a RedisPersistentDict keyed as NiceGUI keys user storage plays the other.
The full two-process test through nginx is tests/test_multi_instance.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import time
import uuid
from base64 import b64encode
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import itsdangerous
import pytest
from nicegui import Client as PageClient
from nicegui import core
from nicegui.storage import Storage
from nicegui.testing import User
from temporalio.client import Client

from release_console import services as services_module
from release_console.accounts.bootstrap import ensure_first_admin
from release_console.accounts.errors import LoginFailed, LoginThrottled
from release_console.accounts.service import AccountsService
from release_console.accounts.throttle import ADDRESS_FACTOR, LoginThrottle, RedisLoginThrottle, Throttle
from release_console.core.config import Settings, get_settings
from release_console.runtime import shared_state
from release_console.runtime.audit import flush, read_entries
from release_console.ui import auth, shared_storage
from release_console.ui.shared_storage import SharedStorage
from tests.conftest import TEST_DATA_DIR
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually, free_port, stop_process
from tests.integration.conftest import _wait_for_port
from tests.integration.ui.helpers import WAIT, log_in
from tests.unit.accounts import test_throttle as memory_rules

SECRET = b"test-secret-for-key-hashing"
ATTACKER, OWNER = "10.0.0.66", "10.0.0.7"


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> str:
    """A key prefix of this test's own (NICEGUI_REDIS_KEY_PREFIX), so tests never see each other's keys."""
    value = f"rc-test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("NICEGUI_REDIS_KEY_PREFIX", value)
    return value


@pytest.fixture
async def redis(redis_server: str) -> AsyncIterator:
    """A client for looking at Redis from the test (not used by the code under test)."""
    client = shared_state.client(redis_server)
    try:
        yield client
    finally:
        await client.aclose()


class Instances:
    """Throttles as separate console instances would build them: each with its own Redis connection."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        self.clients: list = []

    def throttle(self, max_failures: int = 3, lockout: float = 60, clock: Callable[[], float] = time.time,
                 url: str | None = None) -> RedisLoginThrottle:
        client = shared_state.client(url or self.url)
        self.clients.append(client)
        return RedisLoginThrottle(client, max_failures=max_failures, lockout_seconds=lockout, clock=clock,
                                  key_prefix=self.prefix, secret=SECRET)

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


@pytest.fixture
async def instances(redis_server: str, prefix: str) -> AsyncIterator[Instances]:
    made = Instances(redis_server, prefix)
    try:
        yield made
    finally:
        await made.close()


# ---- the throttle ------------------------------------------------------------------------------------------------
async def test_the_redis_throttle_keeps_the_in_memory_rules(instances: Instances) -> None:
    """The rule tests of the in-memory throttle (tests/test_login_throttle.py), run on the Redis one."""

    def make(max_failures: int, lockout: float, clock: Callable[[], float]) -> Throttle:
        return instances.throttle(max_failures, lockout, clock)

    await memory_rules.test_throttle_counts_pairs_and_addresses(make)
    instances.prefix += "second:"
    await memory_rules.test_a_success_clears_its_own_pair_only(make)
    instances.prefix += "third:"
    await memory_rules.test_parallel_attempts_get_no_more_guesses_than_serial_ones(make)
    instances.prefix += "fourth:"
    await memory_rules.test_the_attempt_that_locked_an_address_takes_the_lock_back_if_right(make)
    instances.prefix += "fifth:"
    await memory_rules.test_an_ipv6_client_is_counted_by_its_slash_64(make)
    instances.prefix += "sixth:"
    await memory_rules.test_a_cancelled_attempt_takes_back_only_itself(make)


async def test_failures_on_one_instance_count_on_another(instances: Instances) -> None:
    now = [1000.0]
    one, two = instances.throttle(clock=lambda: now[0]), instances.throttle(clock=lambda: now[0])
    await memory_rules.fail(one, "alice", ATTACKER)
    await memory_rules.fail(two, "Alice", ATTACKER)
    assert await one.retry_after("alice", ATTACKER) is None
    await memory_rules.fail(one, "alice", ATTACKER)  # the third failure, on the first instance
    assert await two.retry_after("alice", ATTACKER) == 60
    assert await one.retry_after("alice", ATTACKER) == 60
    assert await two.retry_after("alice", OWNER) is None  # the owner, from elsewhere, still gets in
    for i in range(3 * ADDRESS_FACTOR - 3):  # the address sprays usernames, alternating instances
        await memory_rules.fail((one, two)[i % 2], f"user{i}", ATTACKER)
    assert await one.retry_after("bob", ATTACKER) == 60 and await two.retry_after("bob", ATTACKER) == 60
    assert await two.retry_after("bob", OWNER) is None
    now[0] += 30
    assert await one.retry_after("bob", ATTACKER) == 30
    now[0] += 31
    assert await two.retry_after("bob", ATTACKER) is None and await one.retry_after("alice", ATTACKER) is None
    assert one.fallbacks == two.fallbacks == 0


async def test_old_failures_leave_the_window_and_every_key_expires(instances: Instances, redis) -> None:
    now = [1000.0]
    throttle = instances.throttle(lockout=60, clock=lambda: now[0])
    await memory_rules.fail(throttle, "alice", ATTACKER)
    await memory_rules.fail(throttle, "alice", ATTACKER)
    now[0] += 61  # those two are older than the window now
    await memory_rules.fail(throttle, "alice", ATTACKER)
    await memory_rules.fail(throttle, "alice", ATTACKER)
    assert await throttle.retry_after("alice", ATTACKER) is None
    # with the real clock and a one-second lockout: Redis forgets the lock and the failures by itself
    instances.prefix += "quick:"
    quick = instances.throttle(max_failures=2, lockout=1)
    await memory_rules.fail(quick, "bob", OWNER)
    await memory_rules.fail(quick, "bob", OWNER)
    assert await quick.retry_after("bob", OWNER) == 1
    keys = await redis.keys(f"{instances.prefix}*")
    assert len(keys) == 3 and all(0 < ttl <= 1000 for ttl in [await redis.pttl(k) for k in keys])  # all expire

    async def released() -> bool:
        return await quick.retry_after("bob", OWNER) is None

    await eventually(released, timeout=5, what="Redis to expire the one-second lock")
    assert not await redis.keys(f"{instances.prefix}*")  # the lock and the address's failures are gone


@pytest.mark.parametrize(
    ("username", "address"),
    [
        ("a:b*c?[d]\r\n{x}\x00 ", "10.0.0.1"),
        ("x" * 100_000, "10.0.0.1"),
        ("ünï\u2028cödé\ud800", "::1"),
        ("alice", "*:" * 5000),
        ("", None),
    ],
)
async def test_any_username_or_address_is_a_safe_key(instances: Instances, redis, username: str,
                                                      address: str | None) -> None:
    throttle = instances.throttle(max_failures=2)
    for _ in range(2):
        await memory_rules.fail(throttle, username, address)
    assert await throttle.retry_after(username, address) == 60
    assert await throttle.retry_after(username + "x", address) is None  # another pair; the address is below its limit
    keys = sorted(k.decode() for k in await redis.keys(f"{instances.prefix}*"))
    pattern = re.compile(re.escape(instances.prefix) + r"throttle:(pair|address):[0-9a-f]{32}:(failures|lock)")
    assert keys and all(pattern.fullmatch(k) for k in keys), keys
    assert len(keys) == (2 if address is None else 3)  # the pair's failures and lock (and the address's failures)
    await memory_rules.succeed(throttle, username + "x", address)  # a right password: nothing of it stays counted
    assert len(await redis.keys(f"{instances.prefix}*")) == len(keys)


async def test_without_redis_the_throttle_counts_in_memory(instances: Instances, caplog_loguru) -> None:
    """Redis unreachable (a closed port): logins keep working, guessing is still slowed down on this instance,
    and the error is logged once, not per login."""
    throttle = instances.throttle(url=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    for _ in range(3):
        assert await throttle.retry_after("alice", ATTACKER) is None
        await memory_rules.fail(throttle, "alice", ATTACKER)
    assert await throttle.retry_after("alice", ATTACKER) == 60
    assert await throttle.retry_after("alice", OWNER) is None
    await memory_rules.succeed(throttle, "alice", OWNER)
    print(f"5 throttle calls with Redis unreachable: {time.monotonic() - started:.2f}s")  # no back-off retries
    assert throttle.fallbacks >= 7
    errors = [m for m in caplog_loguru if "login throttle: Redis failed" in m]
    assert len(errors) == 1 and "alice" not in errors[0]


async def test_a_redis_outage_falls_back_and_locks_taken_meanwhile_hold(instances: Instances) -> None:
    """Redis stops in the middle: failures are counted in memory meanwhile (the shared count is not seen by this
    instance then), and a lock taken during the outage still holds when Redis is back."""
    port = free_port()
    server = _start_redis(port)
    try:
        throttle = instances.throttle(url=f"redis://127.0.0.1:{port}/0")
        await memory_rules.fail(throttle, "alice", ATTACKER)
        await memory_rules.fail(throttle, "alice", ATTACKER)
        assert throttle.fallbacks == 0
        stop_process(server)
        for _ in range(3):
            assert await throttle.retry_after("alice", ATTACKER) is None  # memory has seen no failure yet
            await memory_rules.fail(throttle, "alice", ATTACKER)
        assert await throttle.retry_after("alice", ATTACKER) == 60 and throttle.fallbacks > 0
        server = _start_redis(port)  # back, empty (no persistence)
        assert await throttle.retry_after("alice", ATTACKER) == 60
        assert await throttle.retry_after("alice", OWNER) is None
    finally:
        stop_process(server)


def _start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(TEST_DATA_DIR)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_for_port(port, process, "redis-server", timeout=20)
    return process




async def test_two_accounts_services_share_the_throttle(
    client: Client, settings: Settings, redis_server: str, prefix: str, tmp_path: Path
) -> None:
    """Two AccountsService objects (two console instances) on the same Temporal and Redis: failed logins on one are
    counted by the other; the owner, from another address, logs in on both."""
    shared = settings.model_copy(update={
        "ACCOUNTS_WORKFLOW_ID": f"accounts-redis-{uuid.uuid4().hex[:8]}", "DATA_DIR": tmp_path,
        "ACCOUNTS_REFRESH_SECONDS": 0.2, "BCRYPT_ROUNDS": 4, "LOGIN_MAX_FAILURES": 3, "REDIS_URL": redis_server,
    })
    one, two = AccountsService(client, shared), AccountsService(client, shared)
    try:
        await one.start(on_first_load=lambda: ensure_first_admin(one, shared))
        await two.start()
        assert isinstance(one.throttle, RedisLoginThrottle) and isinstance(two.throttle, RedisLoginThrottle)
        admin = shared.FIRST_ADMIN_USERNAME
        for service in (one, two, one):
            with pytest.raises(LoginFailed):
                await service.authenticate(admin, "wrong-password-1", ATTACKER)
        for service in (two, one):
            with pytest.raises(LoginThrottled):  # even the right password, from the guessing address
                await service.authenticate(admin, ADMIN_PASSWORD, ATTACKER)
        for service in (one, two):
            assert (await service.authenticate(admin, ADMIN_PASSWORD, OWNER)).username == admin
    finally:
        await one.stop()
        await two.stop()


async def test_without_redis_url_the_throttle_stays_in_memory(client: Client, settings: Settings) -> None:
    assert settings.redis_url is None
    accounts = AccountsService(client, settings)
    assert isinstance(accounts.throttle, LoginThrottle) and accounts.redis is None


# ---- sessions ----------------------------------------------------------------------------------------------------
@pytest.fixture
async def nicegui_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """NiceGUI's persistent dicts write through its background tasks, which run on ``core.loop``."""
    monkeypatch.setattr(core, "loop", asyncio.get_running_loop())


async def _storage(url: str, prefix: str, session_id: str) -> SharedStorage:
    """Another instance's user storage for a session id (a Redis client of its own), loaded from Redis."""
    shared_storage.configure(get_settings())
    storage = SharedStorage(id=f"user-{session_id}", key_prefix=prefix, redis=shared_state.client(url))
    await storage.reload()
    return storage


async def _written(storage: SharedStorage) -> None:
    """Its writes reached Redis."""
    await shared_state.written(storage, timeout=5)
    assert not storage.dirty


async def _eventually(check: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


def _record(raw: bytes | None, key: str) -> dict:
    """A user-storage record's content, checked against its signature."""
    data = shared_storage.verified(key, raw)
    assert data is not None, f"{key} is not signed by this console"
    return json.loads(data)


async def test_a_session_written_on_one_instance_is_seen_and_ended_on_another(
    redis_server: str, prefix: str, nicegui_loop: None, redis
) -> None:
    session_id = str(uuid.uuid4())
    key = f"{prefix}user-{session_id}"
    one, two = await _storage(redis_server, prefix, session_id), await _storage(redis_server, prefix, session_id)
    try:
        one[auth.SESSION_KEY] = {"username": "alice", "role": "viewer", "login_at": 1.0, "seen_at": 1.0}
        await _written(one)
        await two.reload()
        assert two[auth.SESSION_KEY]["username"] == "alice"
        assert _record(await redis.get(key), key)[auth.SESSION_KEY] == {"username": "alice", "role": "viewer",
                                                                        "login_at": 1.0}  # seen_at kept apart
        assert 0 < await redis.ttl(key) <= get_settings().SESSION_MAX_AGE_SECONDS  # expires with the session
        one[auth.SESSION_KEY] = {**one[auth.SESSION_KEY], "seen_at": 5.0}  # activity: only the seen key is written
        record_before = await redis.get(key)
        await _written(one)
        seen_key = f"{prefix}seen-{session_id}"
        assert await redis.get(key) == record_before
        assert float(shared_storage.verified(seen_key, await redis.get(seen_key))) == 5.0  # signed too
        await two.reload()
        assert two[auth.SESSION_KEY]["seen_at"] == 5.0
        two.pop(auth.SESSION_KEY)  # logout on the second instance (ui/auth.py: logout pops the session)
        await _written(two)
        assert await redis.get(key) is None and await redis.exists(f"{prefix}revoked-{session_id}")
        one[auth.SESSION_KEY] = {**one[auth.SESSION_KEY], "role": "admin"}  # a stale copy tries to write it back
        await shared_state.written(one, timeout=5)
        assert await redis.get(key) is None and auth.SESSION_KEY not in one  # refused, and dropped here too
    finally:
        await one.close()
        await two.close()


async def test_a_forged_or_moved_session_record_is_ignored(
    redis_server: str, prefix: str, nicegui_loop: None, redis, caplog_loguru: list[str]
) -> None:
    """Someone who can write to Redis but has no SECRET_KEY: a plain JSON admin session, a record signed for
    another session id, an altered one. None of them signs anyone in."""
    victim, other = str(uuid.uuid4()), str(uuid.uuid4())
    admin = {auth.SESSION_KEY: {"username": ADMIN_USERNAME, "role": "admin", "login_at": time.time()}}
    honest = await _storage(redis_server, prefix, other)
    honest.update(admin)
    await _written(honest)
    genuine = await redis.get(f"{prefix}user-{other}")
    altered = json.loads(genuine)
    altered["data"] = altered["data"].replace('"admin"', '"viewer"', 1)
    for forged in (json.dumps(admin), genuine, json.dumps(altered), b"not json"):
        await redis.set(f"{prefix}user-{victim}", forged)
        storage = await _storage(redis_server, prefix, victim)
        assert auth.SESSION_KEY not in storage
    assert any("signature does not match" in m for m in caplog_loguru)
    assert not any(victim in m for m in caplog_loguru)  # session ids never reach the log


async def test_a_logged_out_session_put_back_and_a_forged_activity_are_ignored(
    redis_server: str, prefix: str, nicegui_loop: None, redis
) -> None:
    """Someone who can write to Redis keeps a copy of a signed session record and puts it back after the logout: the
    revocation marker keeps it out. A forged activity time (to escape the idle timeout) is not signed: ignored."""
    session_id = str(uuid.uuid4())
    key, seen_key = f"{prefix}user-{session_id}", f"{prefix}seen-{session_id}"
    one = await _storage(redis_server, prefix, session_id)
    one[auth.SESSION_KEY] = {"username": ADMIN_USERNAME, "role": "admin", "login_at": 10.0, "seen_at": 10.0}
    await _written(one)
    copy = await redis.get(key)
    await redis.set(seen_key, "1e300")  # "active far in the future"
    later = await _storage(redis_server, prefix, session_id)
    assert later[auth.SESSION_KEY].get("seen_at") is None  # not believed: the session ends instead of never idling
    one.pop(auth.SESSION_KEY)  # logout
    await _written(one)
    await redis.set(key, copy)  # the old record put back
    replayed = await _storage(redis_server, prefix, session_id)
    assert auth.SESSION_KEY not in replayed


@pytest.fixture
def redis_console(redis_server: str, prefix: str) -> Iterator[str]:
    """The console under test (NiceGUI's ``user`` fixture runs main.py after this) uses Redis, as instance "one"."""
    before = Storage.redis_url, Storage.redis_key_prefix
    os.environ.update({"REDIS_URL": redis_server, "INSTANCE_NAME": "console-one"})
    get_settings.cache_clear()
    try:
        yield redis_server
    finally:
        for name in ("REDIS_URL", "INSTANCE_NAME"):
            os.environ.pop(name, None)
        get_settings.cache_clear()
        Storage.redis_url, Storage.redis_key_prefix = before


def _cookie(session_id: str) -> str:
    """The session cookie any instance with the same SECRET_KEY gives a browser with this NiceGUI session id
    (Starlette's SessionMiddleware: signed base64 JSON)."""
    signer = itsdangerous.TimestampSigner(get_settings().secret_key())
    return signer.sign(b64encode(json.dumps({"id": session_id}).encode())).decode()


async def _sessions_in_redis(redis, prefix: str) -> dict[str, dict]:
    found = {}
    for key in await redis.keys(f"{prefix}user-*"):
        data = _record(await redis.get(key), key.decode())
        if auth.SESSION_KEY in data:
            found[key.decode().removeprefix(f"{prefix}user-")] = data[auth.SESSION_KEY]
    return found


async def test_the_console_keeps_sessions_and_tickets_in_redis(
    redis_console: str, prefix: str, user: User, redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login on the console lands in Redis under the prefix; the login ticket works from Redis alone (as when the
    step after the login reaches another instance), and only once; a logout empties the session in Redis."""
    assert Storage.redis_url == redis_console and Storage.redis_key_prefix == prefix
    urls: list[str] = []
    begin = auth.begin_session

    def elsewhere(principal, target: str) -> str:
        url = begin(principal, target)
        auth._tickets.pop(url.split("ticket=", 1)[1])  # this instance forgets it: only Redis knows it
        urls.append(url)
        return url

    monkeypatch.setattr(auth, "begin_session", elsewhere)
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    for _ in range(50):  # written to Redis by a background task
        if sessions := await _sessions_in_redis(redis, prefix):
            break
        await asyncio.sleep(0.1)
    assert [s["username"] for s in sessions.values()] == [ADMIN_USERNAME]
    assert not await redis.keys(f"{prefix}login-ticket:*")  # used up
    replay = await user.http_client.get(urls[0], follow_redirects=False)
    assert replay.headers["location"] == auth.LOGIN_PATH
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 200
    flush()
    success = read_entries(get_settings(), limit=5, action="login.success")
    assert success and success[0]["instance"] == "console-one"
    user.find(marker="logout").click()
    await user.should_see(marker="login-button", retries=WAIT)
    for _ in range(50):
        if not await _sessions_in_redis(redis, prefix):
            break
        await asyncio.sleep(0.1)
    assert not await _sessions_in_redis(redis, prefix)


async def test_a_session_from_another_instance_is_valid_here_and_its_logout_ends_it_here(
    redis_console: str, prefix: str, user: User
) -> None:
    """Instance "two" (a user storage of its own on the same Redis) starts a session; the console under test
    accepts the browser's cookie with it; "two" logs out, and the console's next page request knows it."""
    from tests.integration.ui.helpers import accounts_ready

    await accounts_ready()
    session_id = str(uuid.uuid4())
    two = await _storage(redis_console, prefix, session_id)
    try:
        now = time.time()
        two[auth.SESSION_KEY] = {"username": ADMIN_USERNAME, "role": "admin", "login_at": now, "seen_at": now}
        await _written(two)
        browser = httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test",
                                    cookies={"session": _cookie(session_id)})
        async with browser:
            assert (await browser.get("/admin/users", follow_redirects=False)).status_code == 200
            # the page request was activity: the console wrote seen_at, and "two" reads it
            for _ in range(50):
                await two.reload()
                if two[auth.SESSION_KEY]["seen_at"] > now:
                    break
                await asyncio.sleep(0.1)
            assert two[auth.SESSION_KEY]["seen_at"] > now
            two.pop(auth.SESSION_KEY)  # logout on "two"
            await _written(two)
            response = await browser.get("/admin/users", follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"].startswith(auth.LOGIN_PATH)
    finally:
        await two.close()


async def test_a_logout_holds_when_an_instance_lost_its_redis_connections(
    redis_console: str, prefix: str, user: User, redis
) -> None:
    """The console's open page holds a copy of the session; every Redis connection of the console is killed and
    "two" logs out meanwhile: the open page still ends within a refresh tick, and the console's next write of the
    session (activity) cannot bring it back."""
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    [session_id] = list((await _sessions_in_redis(redis, prefix)).keys())
    for connection in await redis.client_list():  # the console's pooled connections (and this test's: it reconnects)
        with contextlib.suppress(Exception):
            await redis.client_kill_filter(_id=connection["id"])
    two = await _storage(redis_console, prefix, session_id)
    try:
        two.pop(auth.SESSION_KEY)
        await _written(two)
        await user.should_see(marker="login-button", retries=WAIT * 2)  # the refresh tick followed the logout
        storage = core.app.storage._users[session_id]
        storage[auth.SESSION_KEY] = {"username": ADMIN_USERNAME, "role": "admin", "login_at": time.time(),
                                     "seen_at": time.time()}  # a stale write from this instance
        await shared_state.written(storage, timeout=5)
        assert not await _sessions_in_redis(redis, prefix)
        assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 303
    finally:
        await two.close()


async def test_a_forged_login_ticket_in_redis_is_refused(redis_console: str, prefix: str, user: User, redis) -> None:
    """Someone who can write to Redis plants an admin login ticket for their own browser: it is not signed, so the
    session route refuses it."""
    from tests.integration.ui.helpers import accounts_ready

    await accounts_ready()
    browser_id = str(uuid.uuid4())
    ticket = "forged-ticket-" + uuid.uuid4().hex
    data = json.dumps({"session_id": browser_id, "username": ADMIN_USERNAME, "role": "admin", "target": "/"})
    await redis.set(auth._ticket_key(ticket), data, ex=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test",
                                 cookies={"session": _cookie(browser_id)}) as attacker:
        response = await attacker.get(f"{auth.SESSION_PATH}?ticket={ticket}", follow_redirects=False)
        assert response.headers["location"] == auth.LOGIN_PATH
        assert (await attacker.get("/admin/users", follow_redirects=False)).status_code == 303
    assert not await _sessions_in_redis(redis, prefix)


# ---- Redis down ----------------------------------------------------------------------------------------------------
def test_an_unreachable_redis_is_reported_at_start(caplog_loguru: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Storage, "redis_url", Storage.redis_url)
    monkeypatch.setattr(Storage, "redis_key_prefix", Storage.redis_key_prefix)
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    shared_state.configure_storage(Settings(REDIS_URL=url))
    assert Storage.redis_url == url
    [error] = [m for m in caplog_loguru if "unreachable" in m]
    assert "hunter2" not in error and "***" in error and "memory" in error
    shared_state.configure_storage(Settings())  # without Redis: NiceGUI's files again
    assert Storage.redis_url is None


@pytest.fixture
def console_with_redis_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = Storage.redis_url, Storage.redis_key_prefix
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.delenv("REDIS_URL")
        get_settings.cache_clear()
        Storage.redis_url, Storage.redis_key_prefix = before


async def test_with_redis_down_logins_still_work_on_this_instance(
    console_with_redis_down: None, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    """Sessions are then kept in this process's memory, tickets too, and the throttle counts in memory; the writes
    Redis did not take wait for a retry."""
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    throttle = services_module.current().accounts.throttle
    assert isinstance(throttle, RedisLoginThrottle) and throttle.fallbacks > 0
    user.find(marker="logout").click()
    await user.should_see(marker="login-button", retries=WAIT)
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 303


async def test_requests_without_a_cookie_open_no_redis_connection_and_unused_storages_go(
    redis_console: str, prefix: str, user: User, redis
) -> None:
    """500 browsers without a cookie (crawlers, health checks of a page) cost no Redis connection (the storages
    share the process's pool and read nothing for a new browser); those no page or request uses are dropped at the
    second sweep that finds them unused, and a browser coming back loads its session from Redis again."""
    from tests.integration.ui.helpers import accounts_ready

    await accounts_ready()
    session_id = str(uuid.uuid4())
    two = await _storage(redis_console, prefix, session_id)
    try:
        now = time.time()
        two[auth.SESSION_KEY] = {"username": ADMIN_USERNAME, "role": "admin", "login_at": now, "seen_at": now}
        await _written(two)
        transport = httpx.ASGITransport(core.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     cookies={"session": _cookie(session_id)}) as browser:
            assert (await browser.get("/admin/users", follow_redirects=False)).status_code == 200
        await asyncio.sleep(0.3)  # the page request's write (seen_at) reached Redis
        clients_before = len(await redis.client_list())
        for _ in range(500):
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as stranger:
                assert (await stranger.get("/admin/users", follow_redirects=False)).status_code == 303
        clients_after = len(await redis.client_list())
        print(f"Redis clients before / after 500 cookie-less requests: {clients_before} / {clients_after}")
        assert clients_after <= clients_before + 1
        assert len(core.app.storage._users) >= 501 and session_id in core.app.storage._users
        assert await shared_state.prune_user_storage() == 0  # the first sweep only notes what is unused
        assert await shared_state.prune_user_storage() == 500
        for client in list(PageClient.instances.values()):
            if client.request is not None and client.request.session.get("id") == session_id:
                client.delete()  # the page is closed
        assert await shared_state.prune_user_storage() == 0
        assert await shared_state.prune_user_storage() == 1
        assert session_id not in core.app.storage._users
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     cookies={"session": _cookie(session_id)}) as browser:
            assert (await browser.get("/admin/users", follow_redirects=False)).status_code == 200  # from Redis
            two.pop(auth.SESSION_KEY)  # and it follows a logout elsewhere again
            await _written(two)
            assert (await browser.get("/admin/users", follow_redirects=False)).status_code == 303
    finally:
        await two.close()
