"""The admin's users page: change a role, reset a password, disable and enable a user."""

from __future__ import annotations

import uuid

from nicegui.testing import User

from release_console import services as services_module
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually
from tests.integration.ui.helpers import (
    login,
    see,
    set_value,
    texts,
)


async def test_admin_changes_role_resets_password_disables_and_enables_a_user(user: User) -> None:
    services = await services_module.wait_until_started(30)
    assert services is not None and services.accounts is not None
    accounts = services.accounts
    name, first_password, new_password = f"cov-{uuid.uuid4().hex[:8]}", "first-password-1", "second-password-2"
    await accounts.create_user(name, first_password, "viewer")
    http = user.http_client

    async def api_login(password: str) -> int:
        response = await http.post("/api/v1/login/access-token", data={"username": name, "password": password})
        return response.status_code

    def table_row() -> dict:
        [row] = [r for r in user.find(marker="users-table").elements.pop().rows if r["username"] == name]
        return row

    async def message_is(text: str) -> None:
        await eventually(lambda: texts(user, "users-message") == [text], what=f"the message {text!r}")

    await login(user, "/admin/users", ADMIN_USERNAME, ADMIN_PASSWORD)
    await see(user, marker="users-table")
    set_value(user, user.find(marker="selected-user").elements.pop(), name)

    set_value(user, user.find(marker="change-role").elements.pop(), "admin")
    user.find(marker="set-role").click()
    await message_is("role changed")
    assert accounts.principal(name).role == "admin"
    assert table_row()["role"] == "admin"

    user.find(marker="reset-password").type(new_password)
    user.find(marker="reset").click()
    await message_is("password changed")
    assert user.find(marker="reset-password").elements.pop().value == ""
    response = await http.post("/api/v1/login/access-token", data={"username": name, "password": new_password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    users = await http.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert users.status_code == 200, users.text  # the new role holds for the API too
    assert await api_login(first_password) == 401

    user.find(marker="disable").click()
    await message_is("disabled")
    assert accounts.principal(name) is None
    assert table_row()["enabled"] == "no"
    assert await api_login(new_password) == 401

    user.find(marker="enable").click()
    await message_is("enabled")
    assert table_row()["enabled"] == "yes"
    assert await api_login(new_password) == 200


async def test_admin_creates_a_service_account_on_the_users_page(user: User) -> None:
    services = await services_module.wait_until_started(30)
    assert services is not None and services.accounts is not None
    name = f"bot-{uuid.uuid4().hex[:8]}"
    await login(user, "/admin/users", ADMIN_USERNAME, ADMIN_PASSWORD)
    await see(user, marker="users-table")
    user.find(marker="new-username").type(name)
    user.find(marker="new-service-account").click()
    assert not user.find(marker="new-password").elements.pop().enabled  # no password to give
    user.find(marker="create-user").click()
    await eventually(lambda: texts(user, "users-message") == [f"created {name}"], what="the created message")
    record = services.accounts.users[name]
    assert record.service_account and record.source == "local"
    [row] = [r for r in user.find(marker="users-table").elements.pop().rows if r["username"] == name]
    assert row["source"] == "API keys only (service account)"
