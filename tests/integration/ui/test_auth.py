"""Console login (NiceGUI `user` fixture, real Temporal): redirect back, logout, expiry, lost access, throttling."""

from __future__ import annotations

import time
import uuid

from nicegui.testing import User

from release_console.ui.auth import SESSION_KEY
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually
from tests.integration.ui.helpers import WAIT, accounts, fast_session_checks, log_in, new_viewer, session_checks


async def test_page_redirects_to_login_then_back(user: User) -> None:
    response = await user.http_client.get("/admin/audit?user=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?redirect_to=%2Fadmin%2Faudit%3Fuser%3Dx"
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/audit?user=x")
    await user.should_see(marker="audit-table", retries=WAIT)
    await user.should_see(marker="current-user")
    assert user.find(marker="filter-user").elements.pop().value == "x"


async def test_wrong_password_shows_message_and_no_session(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, "not-the-password")
    await user.should_see("Incorrect username or password", retries=WAIT)
    await log_in(user, f"nobody-{uuid.uuid4().hex[:6]}", "not-the-password")
    await user.should_see("Incorrect username or password", retries=WAIT)
    response = await user.http_client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303


async def test_logout_ends_the_session(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD)
    await user.should_see(marker="users-table", retries=WAIT)
    user.find(marker="logout").click()
    await user.should_see(marker="login-button", retries=WAIT)
    response = await user.http_client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303


async def test_session_expires_after_max_age(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD)
    await user.should_see(marker="users-table", retries=WAIT)
    settings = accounts().settings
    start = time.time()
    accounts().clock = lambda: start + settings.SESSION_MAX_AGE_SECONDS + 1
    response = await user.http_client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_session_expires_after_idle_time_but_not_before(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD)
    await user.should_see(marker="users-table", retries=WAIT)
    settings = accounts().settings
    start = time.time()
    accounts().clock = lambda: start + settings.SESSION_IDLE_SECONDS - 5
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 200
    accounts().clock = lambda: start + 2 * settings.SESSION_IDLE_SECONDS - 5  # active 5 s ago... then idle again
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 200
    accounts().clock = lambda: start + 3 * settings.SESSION_IDLE_SECONDS
    response = await user.http_client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303


async def test_an_open_page_without_activity_idles_out(user: User) -> None:
    # a faster refresh tick for this test's console only (the service, and so its settings, are per test)
    settings = await fast_session_checks(0.25)
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD)
    await user.should_see(marker="users-table", retries=WAIT)
    start = time.time()
    accounts().clock = lambda: start + settings.SESSION_IDLE_SECONDS - 5
    # let the open page's refresh tick run a few times: it must not count as activity
    checked = session_checks()
    await eventually(lambda: session_checks() >= checked + 2, what="two refresh ticks of the open page")
    await user.should_see(marker="users-table")
    accounts().clock = lambda: start + settings.SESSION_IDLE_SECONDS + 5  # idle since the last page request
    await user.should_see(marker="login-button", retries=WAIT)
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 303


async def test_disabled_user_is_sent_to_login_from_an_open_page(user: User) -> None:
    name = await new_viewer()
    await log_in(user, name, "viewer-password-1", "/admin/audit")
    await user.should_see(marker="forbidden", retries=WAIT)  # a viewer is signed in but may not see admin pages
    await accounts().set_enabled(name, False)
    await user.should_see(marker="login-button", retries=WAIT)  # the open page's refresh tick ended the session
    assert (await user.http_client.get("/admin/audit", follow_redirects=False)).status_code == 303


async def test_deleted_user_loses_access_at_next_request(user: User) -> None:
    name = await new_viewer()
    await log_in(user, name, "viewer-password-1", "/admin/audit")
    await user.should_see(marker="forbidden", retries=WAIT)
    await accounts().delete_user(name)
    assert (await user.http_client.get("/admin/audit", follow_redirects=False)).status_code == 303


async def test_repeated_failures_are_throttled_with_a_clear_message(user: User) -> None:
    name = await new_viewer()
    for _ in range(accounts().settings.LOGIN_MAX_FAILURES):
        await log_in(user, name, "wrong-password-x")
        await user.should_see("Incorrect username or password", retries=WAIT)
    await log_in(user, name, "viewer-password-1")  # even the right password is refused while locked
    await user.should_see("Too many failed logins", retries=WAIT)
    assert SESSION_KEY not in str(await user.http_client.get("/admin/users", follow_redirects=False))


async def test_admin_creates_and_deletes_a_user_in_the_ui(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD)
    await user.should_see(marker="users-table", retries=WAIT)
    name = f"ui-made-{uuid.uuid4().hex[:8]}"
    user.find(marker="new-username").type(name)
    user.find(marker="new-password").type("made-password-1")
    user.find(marker="create-user").click()
    await user.should_see(f"created {name}", retries=WAIT)
    assert accounts().principal(name) is not None
    user.find(marker="selected-user").elements.pop().value = name
    user.find(marker="delete").click()
    await user.should_see("deleted", retries=WAIT)
    assert accounts().principal(name) is None


async def test_last_admin_cannot_be_deleted_in_the_ui(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD)
    await user.should_see(marker="users-table", retries=WAIT)
    for other in [u for u in accounts().list_users() if u.role == "admin" and u.username != ADMIN_USERNAME]:
        await accounts().set_role(other.username, "viewer")  # leave the test admin as the only admin
    user.find(marker="selected-user").elements.pop().value = ADMIN_USERNAME
    user.find(marker="delete").click()
    await user.should_see("last enabled admin", retries=WAIT)
    assert accounts().principal(ADMIN_USERNAME) is not None


async def test_too_long_password_gets_a_clear_message(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD)
    await user.should_see(marker="users-table", retries=WAIT)
    user.find(marker="new-username").type(f"long-{uuid.uuid4().hex[:8]}")
    user.find(marker="new-password").type("é" * 40)  # 80 bytes of UTF-8
    user.find(marker="create-user").click()
    await user.should_see("longer than 72 bytes", retries=WAIT)


async def test_session_cookie_is_httponly_and_samesite_lax(user: User) -> None:
    response = await user.http_client.get("/login")
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax"} <= flags
    assert "secure" not in flags  # served over plain http in this test


