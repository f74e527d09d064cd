"""Single sign-on with a real OpenID Provider: who gets in, with which role, and what a refusal leaves behind."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from nicegui.testing import User

from release_console import services as services_module
from release_console.core.config import get_settings
from release_console.runtime.audit import read_entries
from tests.integration.sso.conftest import DISPLAY_NAME, Provider, provider_browser
from tests.integration.sso.helpers import at_provider, enter, fresh, refusal, sign_in, signed_in, start


def _accounts():
    return services_module.running().accounts


def _audit(user: str, action: str) -> list[dict]:
    return [e for e in read_entries(get_settings(), limit=200, user=user) if e["action"] == action]


async def test_a_member_of_the_admin_group_signs_in_as_an_admin(sso_console: User) -> None:
    name = fresh("admin")
    target = await enter(sso_console, await sign_in(sso_console, name, redirect_to="/admin/users"))
    assert target == "/admin/users"  # back to the page asked for
    assert await signed_in(sso_console)
    record = _accounts().users[name]
    assert (record.source, record.role, record.enabled) == ("oidc", "admin", True)
    assert record.subject == name  # bound to the provider's sub
    await sso_console.open("/admin/users")
    await sso_console.should_see(marker="users-table")
    table = next(iter(sso_console.find(marker="users-table").elements))
    row = next(r for r in table.rows if r["username"] == name)
    assert row["source"] == "single sign-on"  # the users page shows where the user signs in
    success = _audit(name, "login.success")
    assert success and success[0]["method"] == "oidc" and success[0]["role"] == "admin"


async def test_other_members_are_viewers_and_outsiders_are_refused(sso_console: User) -> None:
    engineer, outsider, unknown_groups = fresh("eng"), fresh("outsider"), fresh("nogroups")
    await enter(sso_console, await sign_in(sso_console, engineer))
    assert _accounts().users[engineer].role == "viewer"

    for login, code, reason in ((outsider, "not_allowed", "not in OIDC_ALLOWED_GROUPS"),
                                (unknown_groups, "groups", "the ID token has no usable groups claim")):
        answer = await sign_in(sso_console, login)
        assert refusal(answer) == code
        assert login not in _accounts().records  # a refused identity leaves no account behind
        failure = _audit(login, "login.failure")
        assert failure and failure[0]["reason"] == reason and failure[0]["method"] == "oidc"
    sso_console.http_client.cookies.clear()  # the engineer's session would skip the login page
    await sso_console.open("/login?sso_error=not_allowed")
    await sso_console.should_see("Your account is not in a group that may use Release Console. Ask your administrator.")
    await sso_console.should_see(f"Sign in with {DISPLAY_NAME}")


async def test_the_role_follows_the_groups_at_every_sign_in_and_a_demotion_ends_older_sessions(
    sso_console: User, oidc_provider: Provider
) -> None:
    name = fresh("admin")
    await enter(sso_console, await sign_in(sso_console, name))
    accounts = _accounts()
    first_login = accounts.users[name]
    assert first_login.role == "admin" and await signed_in(sso_console)
    old_session_cookies = dict(sso_console.http_client.cookies)

    oidc_provider.set_groups(name, ["engineering"])  # moved out of the admin group at the provider
    second = sso_console.http_client
    second.cookies.clear()  # another browser
    await enter(sso_console, await sign_in(sso_console, name))
    assert accounts.users[name].role == "viewer"
    assert accounts.users[name].sessions_valid_after is not None
    assert await signed_in(sso_console)  # the new session works …
    second.cookies.clear()
    second.cookies.update(old_session_cookies)
    assert not await signed_in(sso_console)  # … the admin session from before the demotion does not

    viewer_session_cookies = dict(second.cookies)
    oidc_provider.set_groups(name, ["contractors"])  # removed from the allowed groups
    second.cookies.clear()
    assert refusal(await sign_in(sso_console, name)) == "not_allowed"
    second.cookies.clear()
    second.cookies.update(viewer_session_cookies)
    assert not await signed_in(sso_console)  # and the session the user still had ended with the refusal
    assert _audit(name, "login.failure")[0]["reason"] == "not in OIDC_ALLOWED_GROUPS"


async def test_a_user_disabled_in_the_console_cannot_sign_in_with_the_provider(sso_console: User) -> None:
    name = fresh("eng")
    await enter(sso_console, await sign_in(sso_console, name))
    assert await signed_in(sso_console)
    await _accounts().update_user(name, enabled=False)  # an admin disables the user locally
    assert not await signed_in(sso_console)  # the open session ends with it
    sso_console.http_client.cookies.clear()
    answer = await sign_in(sso_console, name)
    assert refusal(answer) == "disabled"
    assert "ticket" not in answer.headers["location"]
    assert _audit(name, "login.failure")[0]["reason"] == "disabled"


async def test_a_provider_identity_never_takes_over_a_local_account(sso_console: User) -> None:
    name = fresh("eng")
    await _accounts().create_user(name, "local-password-1", "viewer")  # a local account of the same name
    answer = await sign_in(sso_console, name)
    assert refusal(answer) == "account"
    record = _accounts().users[name]
    assert (record.source, record.subject) == ("local", None)  # unchanged


async def test_a_tampered_or_replayed_callback_signs_nobody_in(sso_console: User) -> None:
    name = fresh("eng")
    authorize = await start(sso_console)
    async with provider_browser() as idp:
        callback = await at_provider(idp, authorize, name)
    tampered = callback.replace("state=", "state=x", 1)
    assert refusal(await sso_console.http_client.get(tampered)) == "state"
    assert name not in _accounts().records and not await signed_in(sso_console)

    answer = await sso_console.http_client.get(callback)  # the genuine callback still works, once
    await enter(sso_console, answer)
    assert refusal(await sso_console.http_client.get(callback)) == "state"  # the same callback again

    # the used code with a fresh, valid state: the provider refuses it (codes are single use)
    sso_console.http_client.cookies.clear()
    state = parse_qs(urlsplit(await start(sso_console)).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replayed = await sso_console.http_client.get("/login/oidc/callback", params={"code": code, "state": state})
    assert refusal(replayed) == "code"
    assert not await signed_in(sso_console)
    reasons = {e["reason"] for e in _audit_all("login.failure") if e.get("method") == "oidc"}
    assert "unknown, used or expired state" in reasons  # (more refusals from this client within a minute are
    # counted into one line: anyone can send these at will)


def _audit_all(action: str) -> list[dict]:
    return [e for e in read_entries(get_settings(), limit=500) if e["action"] == action]


async def test_a_nonce_that_does_not_match_the_sign_in_is_refused(sso_console: User) -> None:
    name = fresh("eng")
    authorize = await start(sso_console)
    forged = authorize.replace("nonce=", "nonce=forged", 1)  # an ID token minted for another sign-in
    async with provider_browser() as idp:
        callback = await at_provider(idp, forged, name)
    assert refusal(await sso_console.http_client.get(callback)) == "token"
    assert name not in _accounts().records
    assert any("nonce" in e["reason"] for e in _audit_all("login.failure") if e.get("method") == "oidc")


async def test_the_signing_keys_of_the_provider_may_rotate(sso_console: User, oidc_provider: Provider) -> None:
    await enter(sso_console, await sign_in(sso_console, fresh("eng")))  # the console has the first key now
    oidc_provider.restart()  # a new signing key, the old one gone
    sso_console.http_client.cookies.clear()
    name = fresh("eng")
    await enter(sso_console, await sign_in(sso_console, name))
    assert await signed_in(sso_console) and _accounts().users[name].source == "oidc"
