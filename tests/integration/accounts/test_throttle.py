"""Login throttling without lockout DoS: failures count per (username, address) and per address, never
per username alone; X-Forwarded-For is believed only from TRUSTED_PROXIES. Real console, real Temporal."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from nicegui.testing import User

from release_console import services as services_module
from release_console.accounts.throttle import ADDRESS_FACTOR
from release_console.core.config import get_settings
from release_console.runtime.audit import flush, read_entries
from release_console.runtime.client_ip import resolve_client
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, login
from tests.integration.conftest import usable_console
from tests.integration.ui.helpers import WAIT, log_in

LOGIN = "/api/v1/login/access-token"
ATTACKER, OWNER = "10.0.0.66", "10.0.0.7"


@pytest.fixture
def trusted_local_proxy() -> Iterator[None]:
    """The console under test believes X-Forwarded-For from 127.0.0.1 (the test client's address)."""
    os.environ["TRUSTED_PROXIES"] = "127.0.0.1"
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.pop("TRUSTED_PROXIES", None)
        get_settings.cache_clear()


@pytest.fixture
async def proxied_api(trusted_local_proxy: None, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The console's HTTP client, started with TRUSTED_PROXIES=127.0.0.1."""
    async with usable_console(request) as console:
        http_client = console.http_client
        yield http_client


@pytest.fixture
def proxied_user(trusted_local_proxy: None, user: User) -> User:
    """NiceGUI's simulated user on a console started with TRUSTED_PROXIES=127.0.0.1."""
    return user


async def new_user(api: httpx.AsyncClient, password: str) -> str:
    admin = await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)
    name = f"owner-{uuid.uuid4().hex[:8]}"
    created = await api.post("/api/v1/users", json={"username": name, "password": password}, headers=admin)
    assert created.status_code == 201, created.text
    return name


async def attempt(api: httpx.AsyncClient, username: str, password: str, address: str) -> int:
    response = await api.post(LOGIN, data={"username": username, "password": password},
                              headers={"X-Forwarded-For": address})
    return response.status_code


async def test_failures_from_one_address_do_not_lock_the_owner_out(proxied_api: httpx.AsyncClient) -> None:
    """The reproduction: 8 failed logins from one address, then the owner from another address with the right
    password got 429. Now the owner gets in; the guessing address stays throttled for that account."""
    name = await new_user(proxied_api, "owner-password-1")
    codes = [await attempt(proxied_api, name, f"guess-{i}", ATTACKER) for i in range(8)]
    limit = get_settings().LOGIN_MAX_FAILURES
    assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}
    assert await attempt(proxied_api, name, "owner-password-1", OWNER) == 200
    assert await attempt(proxied_api, name, "owner-password-1", ATTACKER) == 429  # the guesser is still refused
    flush()
    failures = read_entries(get_settings(), limit=20, user=name, action="login.failure")
    assert {e["client"] for e in failures} == {ATTACKER}  # the audit names the real client, not the proxy


async def test_an_address_is_throttled_across_usernames_but_others_are_not(proxied_api: httpx.AsyncClient) -> None:
    name = await new_user(proxied_api, "owner-password-1")
    limit = get_settings().LOGIN_MAX_FAILURES * ADDRESS_FACTOR
    codes = [await attempt(proxied_api, f"spray-{uuid.uuid4().hex[:6]}", "x", ATTACKER) for _ in range(limit + 1)]
    assert codes[:limit] == [401] * limit and codes[limit] == 429
    assert await attempt(proxied_api, name, "owner-password-1", ATTACKER) == 429  # even a right password from there
    assert await attempt(proxied_api, name, "owner-password-1", OWNER) == 200


async def test_parallel_guesses_get_no_more_than_serial_ones(proxied_api: httpx.AsyncClient) -> None:
    """The reproduction: 40 wrong passwords for one user sent at once from one address all got 401, because each
    failure was counted only after its bcrypt check. Now each attempt is counted first."""
    name = await new_user(proxied_api, "owner-password-1")
    codes = await asyncio.gather(*(attempt(proxied_api, name, f"guess-{i}", ATTACKER) for i in range(40)))
    limit = get_settings().LOGIN_MAX_FAILURES
    assert codes.count(401) == limit and codes.count(429) == 40 - limit, codes
    assert await attempt(proxied_api, name, "owner-password-1", OWNER) == 200  # the owner still gets in


async def test_an_address_spraying_usernames_in_parallel_is_held_to_its_limit(
        proxied_api: httpx.AsyncClient) -> None:
    limit = get_settings().LOGIN_MAX_FAILURES * ADDRESS_FACTOR
    names = [f"spray-{uuid.uuid4().hex[:6]}" for _ in range(limit + 20)]
    codes = await asyncio.gather(*(attempt(proxied_api, name, "x", ATTACKER) for name in names))
    assert codes.count(401) <= limit and codes.count(401) + codes.count(429) == len(names), codes


async def test_forwarded_for_is_ignored_without_trusted_proxies(api: httpx.AsyncClient) -> None:
    """With TRUSTED_PROXIES empty (the default) a client cannot pick a new address per request to escape the
    per-address limit, nor write a made-up address into the audit log."""
    limit = get_settings().LOGIN_MAX_FAILURES * ADDRESS_FACTOR
    codes = [await attempt(api, f"spray-{uuid.uuid4().hex[:6]}", "x", f"10.1.{i // 250}.{i % 250}")
             for i in range(limit + 1)]
    assert codes[limit] == 429
    flush()
    entries = read_entries(get_settings(), limit=limit, action="login.failure")
    assert entries and {e["client"] for e in entries} == {"127.0.0.1"}


async def test_the_login_page_throttles_per_address_too(proxied_user: User) -> None:
    """The same reproduction through the console's login page: the page's client address comes from the
    trusted proxy's X-Forwarded-For."""
    assert await services_module.wait_until_started(30) is not None
    accounts = services_module.current().accounts
    assert accounts is not None
    name = f"ui-owner-{uuid.uuid4().hex[:8]}"
    await accounts.create_user(name, "owner-password-1", "viewer")
    proxied_user.http_client.headers["X-Forwarded-For"] = ATTACKER
    for _ in range(8):
        await log_in(proxied_user, name, "wrong-password-x")
        await proxied_user.should_see("Incorrect username or password" if _ < 5 else "Too many failed logins",
                                      retries=WAIT)
    proxied_user.http_client.headers["X-Forwarded-For"] = OWNER
    await log_in(proxied_user, name, "owner-password-1", "/admin/audit")
    await proxied_user.should_see(marker="forbidden", retries=WAIT)  # signed in (a viewer on an admin page)
    flush()
    throttled = read_entries(get_settings(), limit=5, action="login.throttled")
    assert throttled and throttled[0]["client"] == ATTACKER










@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        ("127.0.0.1", ["10.0.0.9"], [], "127.0.0.1"),  # no trusted proxies: the header is ignored
        ("192.0.2.5", ["10.0.0.9"], ["127.0.0.1"], "192.0.2.5"),  # from an untrusted peer: ignored
        ("127.0.0.1", ["10.0.0.9"], ["127.0.0.1"], "10.0.0.9"),
        ("127.0.0.1", ["6.6.6.6, 10.0.0.9"], ["127.0.0.1"], "10.0.0.9"),  # a forged left part is not believed
        ("10.1.2.3", ["6.6.6.6, 10.0.0.9, 10.1.0.1"], ["10.1.0.0/16"], "10.0.0.9"),  # proxies in a CIDR
        ("127.0.0.1", ["10.0.0.9", "10.0.0.8"], ["127.0.0.1"], "10.0.0.8"),  # several headers: rightmost last
        ("127.0.0.1", ["not-an-ip"], ["127.0.0.1"], "127.0.0.1"),  # garbage: only the proxy is vouched for
        ("127.0.0.1", ["[2001:db8::1]:443"], ["127.0.0.1"], "2001:db8::1"),
        ("127.0.0.1", [], ["127.0.0.1"], "127.0.0.1"),
        (None, ["10.0.0.9"], ["127.0.0.1"], None),
    ],
)
def test_client_address_resolution(peer: str | None, forwarded: list[str], proxies: list[str],
                                   client: str | None) -> None:
    assert resolve_client(peer, forwarded, proxies) == client


