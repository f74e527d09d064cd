"""Revocation in the pages: a login ticket carries the time the password was checked, and "sign out everywhere"
in the user menu ends the page's session and every token of its user."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from base64 import b64encode
from datetime import timedelta

import httpx
import itsdangerous
from nicegui import core
from nicegui.testing import User

from release_console import services as services_module
from release_console.core.config import get_settings
from release_console.core.security import create_access_token
from release_console.ui import auth
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.integration.ui.helpers import WAIT, accounts_ready, log_in


def _browser(session_id: str) -> httpx.AsyncClient:
    """A browser whose session cookie holds ``session_id`` (what the console itself would set)."""
    signer = itsdangerous.TimestampSigner(get_settings().secret_key())
    cookie = signer.sign(b64encode(json.dumps({"id": session_id}).encode())).decode()
    return httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test",
                             cookies={"session": cookie})


def _ticket(session_id: str, username: str, authenticated_at: float) -> str:
    ticket = secrets.token_urlsafe(32)
    auth._tickets[ticket] = auth._Ticket(session_id, username, "viewer", "/", time.monotonic(), authenticated_at)
    return ticket


async def test_a_ticket_redeemed_after_a_password_reset_starts_no_session(user: User) -> None:
    """The session's login time is when the password was checked, not when the ticket was redeemed: a reset in the
    minute between them ends it at once."""
    await accounts_ready()
    accounts = services_module.running().accounts
    name = f"ui-ticket-{uuid.uuid4().hex[:8]}"
    await accounts.create_user(name, "viewer-password-1", "viewer")
    checked_at = accounts.issue_time(name)  # the password was checked now…
    await accounts.update_user(name, password="viewer-password-2")  # …and reset before the ticket is redeemed
    stale, fresh = str(uuid.uuid4()), str(uuid.uuid4())
    async with _browser(stale) as browser:
        await browser.get(f"{auth.SESSION_PATH}?ticket={_ticket(stale, name, checked_at)}", follow_redirects=False)
        assert (await browser.get("/", follow_redirects=False)).status_code == 303
    async with _browser(fresh) as browser:  # a ticket from a check after the reset works
        ticket = _ticket(fresh, name, accounts.issue_time(name))
        await browser.get(f"{auth.SESSION_PATH}?ticket={ticket}", follow_redirects=False)
        assert (await browser.get("/", follow_redirects=False)).status_code == 200


async def test_sign_out_everywhere_from_the_user_menu(user: User) -> None:
    """The page goes to the login page, and a token the user got before the click is refused."""
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/")
    await user.should_see(marker="current-user", retries=WAIT)
    token = create_access_token(ADMIN_USERNAME, "admin", secret=get_settings().secret_key(),
                                expires_delta=timedelta(minutes=5))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test") as api:
        me = {"Authorization": f"Bearer {token}"}
        assert (await api.get("/api/v1/users/me", headers=me)).status_code == 200
        user.find(marker="sign-out-everywhere").click()
        await user.should_see(marker="login-button", retries=WAIT)
        assert (await api.get("/api/v1/users/me", headers=me)).status_code == 401
