"""LOCAL_LOGIN=false: single sign-on for everyone, a password only for the break-glass admin, also while the
provider is down."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from release_console import services as services_module
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, free_port
from tests.integration.sso.conftest import DISPLAY_NAME
from tests.integration.sso.helpers import refusal

TOKEN = "/api/v1/login/access-token"


@pytest.fixture
def passwords_off(sso_env) -> None:
    sso_env(LOCAL_LOGIN="false")


@pytest.fixture
def provider_down(sso_env) -> None:
    sso_env(LOCAL_LOGIN="false", OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", OIDC_TIMEOUT_SECONDS="1")


async def test_the_login_page_offers_single_sign_on_and_hides_the_password_form(
    passwords_off, sso_console: User
) -> None:
    await sso_console.open("/login")
    await sso_console.should_see(f"Sign in with {DISPLAY_NAME}")
    await sso_console.should_see(marker="break-glass-link")
    await sso_console.should_not_see(marker="username")  # the password form is hidden
    button = next(iter(sso_console.find(marker="sso-button").elements))
    assert button.props["href"] == "/login/oidc?redirect_to=%2F"
    await sso_console.open("/login?local=true")
    await sso_console.should_see(marker="username")


async def test_only_the_break_glass_admin_may_use_a_password(
    passwords_off, sso_console: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = services_module.running().accounts
    await accounts.create_user("local-viewer-x", "local-password-1", "viewer")
    checked: list[str] = []
    check = accounts.passwords.check

    async def counting_check(plain: str, hashed: str) -> bool:
        checked.append(hashed)
        return await check(plain, hashed)

    monkeypatch.setattr(accounts.passwords, "check", counting_check)
    refused = await sso_console.http_client.post(TOKEN, data={"username": "local-viewer-x",
                                                              "password": "local-password-1"})
    assert refused.status_code == 403 and refused.json()["code"] == "password_sign_in_off"
    assert checked == []  # refused before any bcrypt
    allowed = await sso_console.http_client.post(TOKEN, data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert allowed.status_code == 200 and len(checked) == 1


async def test_with_the_provider_down_the_page_says_so_and_break_glass_still_works(
    provider_down, sso_console: User
) -> None:
    answer = await sso_console.http_client.get("/login/oidc")
    assert refusal(answer) == "unavailable"
    await sso_console.open("/login?sso_error=unavailable")
    await sso_console.should_see("Single sign-on is unavailable: the identity provider did not answer.")
    await sso_console.open("/login?local=true")
    sso_console.find(marker="username").type(ADMIN_USERNAME)
    sso_console.find(marker="password").type(ADMIN_PASSWORD)
    sso_console.find(marker="login-button").click()
    await sso_console.should_see(marker="current-user", retries=100)
