"""Sessions and redirects: a new session id at login and logout, same-origin redirect targets only, and an
open tab of a user who lost access is disconnected. Real console (NiceGUI's simulated user), real Temporal."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from nicegui import Client, core
from nicegui.testing import User

from release_console import services as services_module
from release_console.ui import auth
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually
from tests.integration.ui.helpers import WAIT, accounts_ready, fast_session_checks, log_in


def other_browser(cookie: str | None = None) -> httpx.AsyncClient:
    """A second browser on the same console, optionally carrying a given session cookie."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test",
                             cookies={"session": cookie} if cookie else None)


def accounts():
    service = services_module.current().accounts
    assert service is not None
    return service


async def test_a_cookie_planted_before_login_is_worthless_after_it(user: User) -> None:
    """The reproduction: the session id was kept across login, so a cookie planted in the victim's browser before
    they logged in (session fixation) was logged in too."""
    await accounts_ready()
    await user.open("/login")
    planted = user.http_client.cookies["session"]
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    assert user.http_client.cookies["session"] != planted  # the victim's browser has a new id...
    async with other_browser(planted) as attacker:  # ...and the planted one opens nothing
        response = await attacker.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 200


async def test_logout_gives_the_browser_a_new_session_id(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    signed_in = user.http_client.cookies["session"]
    user.find(marker="logout").click()
    await user.should_see(marker="login-button", retries=WAIT)
    assert user.http_client.cookies["session"] != signed_in
    async with other_browser(signed_in) as copy:  # a copy of the cookie taken while signed in is worthless too
        assert (await copy.get("/admin/users", follow_redirects=False)).status_code == 303
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 303


async def test_a_logged_out_tab_is_not_checked_again(user: User) -> None:
    """Logout sends the tab to the provider's end-session page (or SESSION_PATH); a refresh tick after it found no
    session and sent the tab to the login page instead, so a single sign-on user was never signed out at the
    provider. The tab's check stops at logout, and the tab is deleted."""
    await fast_session_checks(0.1)
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    tab = user.client
    assert tab is not None
    await eventually(lambda: tab.storage.get(auth.SESSION_CHECKS_KEY, 0) >= 2, what="the tab's session checks")
    user.find(marker="logout").click()
    checks_at_logout = tab.storage.get(auth.SESSION_CHECKS_KEY, 0)
    await user.should_see(marker="login-button", retries=WAIT)
    await eventually(lambda: tab.is_deleted, timeout=10, what="the logged-out tab's deletion")
    assert tab.storage.get(auth.SESSION_CHECKS_KEY, 0) == checks_at_logout


async def test_a_login_ticket_works_once_and_only_in_the_browser_that_logged_in(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls: list[str] = []
    begin = auth.begin_session

    def recording(principal, target: str) -> str:
        urls.append(begin(principal, target))
        return urls[-1]

    monkeypatch.setattr(auth, "begin_session", recording)
    async with other_browser() as stranger:
        await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
        await user.should_see(marker="users-table", retries=WAIT)
        [url] = urls
        replayed = await stranger.get(url, follow_redirects=False)  # e.g. read from a log or a proxy
        assert replayed.status_code == 303 and replayed.headers["location"] == auth.LOGIN_PATH
        assert (await stranger.get("/admin/users", follow_redirects=False)).status_code == 303
        # a ticket handed to one browser does not work in another even before it was used
        await user.open("/login")
        with user:  # a ticket for the login page open in the user's browser
            ticket = auth.begin_session(accounts().principal(ADMIN_USERNAME), "/")
        assert (await stranger.get(ticket, follow_redirects=False)).headers["location"] == auth.LOGIN_PATH
        assert (await stranger.get("/admin/users", follow_redirects=False)).status_code == 303


async def test_a_link_to_the_session_path_cannot_log_anyone_out(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    cookie = user.http_client.cookies["session"]
    assert (await user.http_client.get(auth.SESSION_PATH, follow_redirects=False)).status_code == 303
    assert user.http_client.cookies["session"] == cookie
    assert (await user.http_client.get("/admin/users", follow_redirects=False)).status_code == 200


async def test_the_tab_redirect_is_refused_when_already_signed_in(user: User) -> None:
    """The reproduction: /login?redirect_to=/%09/example.org/ passed the check; browsers drop the tab and go to
    //example.org/. A signed-in user is sent straight on, so the answer shows the target."""
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    response = await user.http_client.get("/login?redirect_to=/%09/example.org/", follow_redirects=False)
    assert response.status_code in {302, 303, 307} and response.headers["location"] == "/"


async def test_the_tab_redirect_is_refused_after_logging_in(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    targets: list[str] = []
    begin = auth.begin_session

    def recording(principal, target: str) -> str:
        targets.append(target)
        return begin(principal, target)

    monkeypatch.setattr(auth, "begin_session", recording)
    await accounts_ready()
    await user.open("/login?redirect_to=/%09/example.org/")
    user.find(marker="username").type(ADMIN_USERNAME)
    user.find(marker="password").type(ADMIN_PASSWORD)
    user.find(marker="login-button").click()
    await user.should_not_see(marker="login-button", retries=WAIT)
    assert targets == ["/"]






async def test_an_open_tab_of_a_disabled_user_is_disconnected(user: User) -> None:
    """Not just sent to the login page: the tab's connection is closed and its page deleted, so a tab that
    ignores the navigation gets nothing more."""
    name = f"ui-tab-{uuid.uuid4().hex[:8]}"
    assert await services_module.wait_until_started(30) is not None
    await accounts().create_user(name, "viewer-password-1", "viewer")
    await log_in(user, name, "viewer-password-1", "/")
    await user.should_see(marker="current-user", retries=WAIT)
    tab = user.client
    assert tab is not None and tab.page.path == "/"
    await accounts().set_enabled(name, False)
    await user.should_see(marker="login-button", retries=WAIT)
    await eventually(lambda: tab.is_deleted and tab.id not in Client.instances, timeout=10, what="the tab's deletion")


async def test_an_open_tab_of_an_expired_session_is_disconnected(user: User) -> None:
    await fast_session_checks(0.25)
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    tab = user.client
    assert tab is not None
    start = time.time()
    accounts().clock = lambda: start + accounts().settings.SESSION_MAX_AGE_SECONDS + 1
    await user.should_see(marker="login-button", retries=WAIT)
    await eventually(lambda: tab.is_deleted, timeout=10, what="the tab's deletion")


