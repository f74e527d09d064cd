"""REST authentication on the real app and Temporal: tokens, roles, /users CRUD, last admin, throttling, restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation

from release_console import services as services_module
from release_console.core.config import get_settings
from release_console.core.security import create_access_token, decode_access_token
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, login

LOGIN = "/api/v1/login/access-token"


def name(prefix: str = "api") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create(api: httpx.AsyncClient, headers: dict, username: str, role: str = "viewer",
                 password: str = "user-password-1") -> httpx.Response:
    return await api.post("/api/v1/users", json={"username": username, "password": password, "role": role},
                          headers=headers)


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_login_returns_a_jwt_and_me(api: httpx.AsyncClient) -> None:
    response = await api.post(LOGIN, data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    claims = decode_access_token(body["access_token"], secret=get_settings().secret_key())
    assert (claims.sub, claims.role, claims.typ) == (ADMIN_USERNAME, "admin", "access")
    me = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == ADMIN_USERNAME and "password_hash" not in me.text


async def test_bad_credentials_look_the_same_for_unknown_users(api: httpx.AsyncClient) -> None:
    wrong = await api.post(LOGIN, data={"username": ADMIN_USERNAME, "password": "wrong-password"})
    unknown = await api.post(LOGIN, data={"username": name("ghost"), "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"] == "Incorrect username or password"
    missing = await api.post(LOGIN, data={"username": ADMIN_USERNAME})
    assert missing.status_code == 422


async def test_every_kind_of_bad_token_gets_401(api: httpx.AsyncClient, admin_headers: dict) -> None:
    secret = get_settings().secret_key()
    good = admin_headers["Authorization"].removeprefix("Bearer ")
    _, claims, _ = good.split(".")
    past = datetime.now(UTC) - timedelta(hours=2)
    tokens = {
        "malformed": "abc.def",
        "unsigned": f"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.",
        "wrong signature": create_access_token(ADMIN_USERNAME, "admin", secret="x" * 48,
                                               expires_delta=timedelta(minutes=5)),
        "expired": create_access_token(ADMIN_USERNAME, "admin", secret=secret, expires_delta=timedelta(minutes=5),
                                       now=past),
        "wrong type": create_access_token(ADMIN_USERNAME, "admin", secret=secret, expires_delta=timedelta(minutes=5),
                                          token_type="refresh"),
        "unknown user": create_access_token(name("ghost"), "admin", secret=secret, expires_delta=timedelta(minutes=5)),
    }
    assert_401(await api.get("/api/v1/users/me"))
    assert_401(await api.get("/api/v1/users/me", headers={"Authorization": "Basic YTpi"}))
    for kind, token in tokens.items():
        response = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert_401(response)
        assert "Traceback" not in response.text, kind
    assert (await api.get("/api/v1/users/me", headers=admin_headers)).status_code == 200


async def test_viewers_get_403_on_admin_routes(api: httpx.AsyncClient, viewer_headers: dict) -> None:
    assert (await api.get("/api/v1/users/me", headers=viewer_headers)).status_code == 200
    for method, path in [("GET", "/api/v1/users"), ("POST", "/api/v1/users"), ("GET", "/api/v1/audit"),
                         ("PATCH", f"/api/v1/users/{ADMIN_USERNAME}"), ("DELETE", f"/api/v1/users/{ADMIN_USERNAME}")]:
        response = await api.request(method, path, headers=viewer_headers, json={"role": "viewer"})
        assert response.status_code == 403, (method, path, response.text)


async def test_user_crud(api: httpx.AsyncClient, admin_headers: dict) -> None:
    username = name()
    created = await create(api, admin_headers, username.upper())  # usernames are case-insensitive
    assert created.status_code == 201, created.text
    assert created.json() | {"created_at": None} == {"username": username, "role": "viewer", "enabled": True,
                                                      "created_at": None, "last_login_at": None,
                                                      "service_account": False, "source": "local"}
    assert (await create(api, admin_headers, username)).status_code == 409
    bad = await create(api, admin_headers, "bad name!")
    assert bad.status_code == 422 and "lowercase" in bad.json()["detail"]
    long = await create(api, admin_headers, name(), password="é" * 37)
    assert long.status_code == 422 and "72 bytes" in long.json()["detail"]
    assert (await api.get(f"/api/v1/users/{username}", headers=admin_headers)).json()["role"] == "viewer"

    user_headers = await login(api, username, "user-password-1")
    changed = await api.patch(f"/api/v1/users/{username}", json={"role": "admin"}, headers=admin_headers)
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    assert_401(await api.get("/api/v1/users", headers=user_headers))  # a role change ends the old tokens
    user_headers = await login(api, username, "user-password-1")
    assert (await api.get("/api/v1/users", headers=user_headers)).status_code == 200  # the new role

    reset = await api.patch(f"/api/v1/users/{username}", json={"password": "new-password-2"}, headers=admin_headers)
    assert reset.status_code == 200
    assert (await api.post(LOGIN, data={"username": username, "password": "user-password-1"})).status_code == 401
    user_headers = await login(api, username, "new-password-2")

    disabled = await api.patch(f"/api/v1/users/{username}", json={"enabled": False}, headers=admin_headers)
    assert disabled.json()["enabled"] is False
    assert_401(await api.get("/api/v1/users/me", headers=user_headers))  # the next request is refused
    assert (await api.post(LOGIN, data={"username": username, "password": "new-password-2"})).status_code == 401

    unchanged = await api.patch(f"/api/v1/users/{username}", json={}, headers=admin_headers)  # nothing to change
    # last_login_at is written by the earlier successful login in the background, whenever that lands
    assert unchanged.status_code == 200
    assert unchanged.json() | {"last_login_at": None} == disabled.json() | {"last_login_at": None}
    assert (await api.patch(f"/api/v1/users/{username}", json={"role": "owner"}, headers=admin_headers)).status_code \
        == 422
    assert (await api.delete(f"/api/v1/users/{username}", headers=admin_headers)).status_code == 204
    assert (await api.get(f"/api/v1/users/{username}", headers=admin_headers)).status_code == 404
    assert (await api.delete(f"/api/v1/users/{username}", headers=admin_headers)).status_code == 404
    assert (await api.patch(f"/api/v1/users/{username}", json={}, headers=admin_headers)).status_code == 404
    names = [u["username"] for u in (await api.get("/api/v1/users", headers=admin_headers)).json()]
    assert username not in names and ADMIN_USERNAME in names


async def test_the_last_admin_is_protected(api: httpx.AsyncClient, admin_headers: dict) -> None:
    users = (await api.get("/api/v1/users", headers=admin_headers)).json()
    for other in [u for u in users if u["role"] == "admin" and u["username"] != ADMIN_USERNAME]:
        await api.patch(f"/api/v1/users/{other['username']}", json={"role": "viewer"}, headers=admin_headers)
    path = f"/api/v1/users/{ADMIN_USERNAME}"
    for response in [
        await api.delete(path, headers=admin_headers),
        await api.patch(path, json={"role": "viewer"}, headers=admin_headers),
        await api.patch(path, json={"enabled": False}, headers=admin_headers),
    ]:
        assert response.status_code == 409 and "last enabled admin" in response.json()["detail"]
    assert (await api.get("/api/v1/users/me", headers=admin_headers)).json()["role"] == "admin"
    second = name("admin2")
    assert (await create(api, admin_headers, second, role="admin")).status_code == 201
    assert (await api.patch(f"/api/v1/users/{second}", json={"role": "viewer"}, headers=admin_headers)).status_code \
        == 200


async def test_a_refused_change_changes_nothing(api: httpx.AsyncClient, admin_headers: dict) -> None:
    users = (await api.get("/api/v1/users", headers=admin_headers)).json()
    for other in [u for u in users if u["role"] == "admin" and u["username"] != ADMIN_USERNAME]:
        await api.patch(f"/api/v1/users/{other['username']}", json={"role": "viewer"}, headers=admin_headers)
    path = f"/api/v1/users/{ADMIN_USERNAME}"
    never = "never-applied-1"
    for change in ({"password": never, "role": "viewer"}, {"password": never, "enabled": False}):
        refused = await api.patch(path, json=change, headers=admin_headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "last_admin" and "last enabled admin" in refused.json()["detail"]
    # the password of the refused change was not applied: the old one still works, the new one does not
    assert (await api.post(LOGIN, data={"username": ADMIN_USERNAME, "password": never})).status_code == 401
    assert (await api.post(LOGIN, data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})).status_code == 200
    me = (await api.get("/api/v1/users/me", headers=admin_headers)).json()
    assert (me["role"], me["enabled"]) == ("admin", True)
    missing = await api.patch(f"/api/v1/users/{name('ghost')}", json={"role": "viewer"}, headers=admin_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_repeated_failures_get_429_with_retry_after(api: httpx.AsyncClient, admin_headers: dict) -> None:
    username = name()
    await create(api, admin_headers, username)
    limit = get_settings().LOGIN_MAX_FAILURES
    for _ in range(limit):
        assert (await api.post(LOGIN, data={"username": username, "password": "bad-password"})).status_code == 401
    locked = await api.post(LOGIN, data={"username": username, "password": "user-password-1"})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Too many failed logins" in locked.json()["detail"]
    # other users from the same address may still log in until the address limit
    assert (await api.post(LOGIN, data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})).status_code == 200
    # after the lockout, the right password works again
    accounts = services_module.current().accounts
    real = accounts.clock
    accounts.clock = lambda: real() + get_settings().LOGIN_LOCKOUT_SECONDS + 1
    assert (await api.post(LOGIN, data={"username": username, "password": "user-password-1"})).status_code == 200


async def test_an_address_spraying_usernames_is_throttled(api: httpx.AsyncClient) -> None:
    limit = get_settings().LOGIN_MAX_FAILURES * 4
    codes = [(await api.post(LOGIN, data={"username": name("spray"), "password": "x"})).status_code
             for _ in range(limit + 1)]
    assert codes[:limit] == [401] * limit and codes[limit] == 429


async def test_account_changes_survive_a_console_restart(request: pytest.FixtureRequest) -> None:
    username = name("restart")
    main = get_path_to_main_file(request)
    async with user_simulation(main_file=main) as first:
        headers = await login(first.http_client, ADMIN_USERNAME, ADMIN_PASSWORD)
        assert (await create(first.http_client, headers, username, role="admin")).status_code == 201
        changed = await first.http_client.patch(f"/api/v1/users/{username}", json={"password": "after-restart-1"},
                                                headers=headers)
        assert changed.status_code == 200
    async with user_simulation(main_file=main) as second:
        headers = await login(second.http_client, username, "after-restart-1")
        me = (await second.http_client.get("/api/v1/users/me", headers=headers)).json()
        assert me["role"] == "admin"
        await second.http_client.patch(f"/api/v1/users/{username}", json={"role": "viewer"}, headers=headers)
