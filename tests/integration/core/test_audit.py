"""The audit log: one JSON line per event (API calls, page views, logins, account changes), never a secret."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
from nicegui.testing import User

from release_console.core.config import get_settings
from release_console.runtime.audit import (
    REQUEST_ID,
    attempted_username,
    audit_path,
    flush,
    read_entries,
    safe_request_id,
)
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, login
from tests.integration.ui.helpers import WAIT, log_in

FIELDS = {"time", "instance", "user", "role", "action", "target", "outcome", "client", "request_id"}


def lines() -> list[dict]:
    flush()  # lines are written by a background thread
    path = audit_path(get_settings())
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_no_secrets(*secrets: str) -> None:
    flush()
    text = audit_path(get_settings()).read_text()
    for secret in secrets:
        assert secret not in text
    assert "$2b$" not in text  # no bcrypt hash either


async def test_api_events_are_audited_without_secrets(api: httpx.AsyncClient) -> None:
    username, password = f"audit-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    admin = await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)
    rid = uuid.uuid4().hex
    created = await api.post("/api/v1/users", json={"username": username, "password": password},
                             headers={**admin, "X-Request-ID": rid})
    assert created.status_code == 201
    await api.post("/api/v1/login/access-token", data={"username": username, "password": "wrong-" + password})
    token = (await login(api, username, password))["Authorization"]
    await api.get("/api/v1/users/me", headers={"Authorization": token})
    await api.get("/api/v1/users", headers={"Authorization": token})  # a viewer: denied
    await api.get("/api/v1/users/me", headers={"Authorization": "Bearer not-a-token"})

    entries = lines()
    assert all(set(e) >= FIELDS for e in entries)
    mine = [e for e in entries if username in (e["user"], e["target"])]
    kinds = {(e["action"], e["outcome"]) for e in mine}
    assert {("account.create", "ok"), ("login.failure", "denied"), ("login.success", "ok"), ("api.call", "ok"),
            ("api.call", "denied")} <= kinds
    create = next(e for e in mine if e["action"] == "account.create")
    assert (create["user"], create["role"], create["request_id"], create["client"]) == ("admin", "admin", rid,
                                                                                         "127.0.0.1")
    assert any(e["action"] == "api.auth_failed" and e["outcome"] == "denied" for e in entries)
    assert_no_secrets(password, token.removeprefix("Bearer "), ADMIN_PASSWORD)

    listed = await api.get("/api/v1/audit", params={"user": username, "action": "login"}, headers=admin)
    assert listed.status_code == 200
    assert {e["action"] for e in listed.json()} == {"login.success", "login.failure"}
    assert listed.json()[0]["time"] >= listed.json()[-1]["time"]  # newest first


async def test_account_changes_and_throttled_logins_are_audited_without_secrets(api: httpx.AsyncClient) -> None:
    settings = get_settings()
    name, first, second = f"audit-ch-{uuid.uuid4().hex[:8]}", f"pw1-{uuid.uuid4().hex}", f"pw2-{uuid.uuid4().hex}"
    admin = await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert (await api.post("/api/v1/users", json={"username": name, "password": first}, headers=admin)).status_code \
        == 201
    changed = await api.patch(f"/api/v1/users/{name}", json={"password": second, "role": "admin", "enabled": False},
                              headers=admin)
    assert changed.status_code == 200
    assert (await api.delete(f"/api/v1/users/{name}", headers=admin)).status_code == 204
    wrong = f"wrong-{uuid.uuid4().hex}"
    codes = [
        (await api.post("/api/v1/login/access-token", data={"username": name, "password": wrong})).status_code
        for _ in range(settings.LOGIN_MAX_FAILURES + 1)
    ]
    assert codes[-1] == 429

    masked = attempted_username(name, known=False)  # the user was deleted: its name is now an unknown username
    mine = [e for e in lines() if name in (e["user"], e["target"]) or e["user"] == masked]
    by_action = {e["action"]: e for e in mine}
    change = by_action["account.change"]
    assert (change["outcome"], change["user"], change["fields"], change["new_role"], change["enabled"]) == (
        "ok", ADMIN_USERNAME, "password,role,enabled", "admin", False
    )
    assert by_action["account.delete"]["outcome"] == "ok"
    assert by_action["login.throttled"]["outcome"] == "denied"
    assert by_action["login.failure"]["user"] == masked and masked.startswith(name[:2]) and name not in masked
    assert all(set(e) >= FIELDS and e["request_id"] for e in mine)
    assert_no_secrets(first, second, wrong, ADMIN_PASSWORD)


async def test_ui_events_are_audited_and_shown_on_the_admin_page(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, "definitely-wrong-password")
    await user.should_see("Incorrect username or password", retries=WAIT)
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/audit")
    await user.should_see(marker="audit-table", retries=WAIT)
    entries = read_entries(get_settings(), limit=50, user=ADMIN_USERNAME)
    actions = [e["action"] for e in entries]
    assert "page.view" in actions and "login.success" in actions and "login.failure" in actions
    assert all(e["request_id"] for e in entries)  # UI events too (a fresh id per event)
    view = next(e for e in entries if e["action"] == "page.view")
    assert view["target"] == "/admin/audit" and view["role"] == "admin"

    user.find(marker="filter-action").type("login.failure")
    user.find(marker="apply-filter").click()
    table = user.find(marker="audit-table").elements.pop()
    for _ in range(WAIT):  # the page reads the audit file in a worker thread
        if table.rows and {r["action"] for r in table.rows} == {"login.failure"}:
            break
        await asyncio.sleep(0.1)
    assert table.rows and {r["action"] for r in table.rows} == {"login.failure"}
    user.find(marker="logout").click()
    await user.should_see(marker="login-button", retries=WAIT)
    assert read_entries(get_settings(), limit=1, user=ADMIN_USERNAME, action="logout")
    assert_no_secrets(ADMIN_PASSWORD, "definitely-wrong-password")


async def test_pages_and_api_bound_the_request_id_the_same_way(user: User) -> None:
    await log_in(user, ADMIN_USERNAME, ADMIN_PASSWORD, "/admin/users")
    await user.should_see(marker="users-table", retries=WAIT)
    good, bad = uuid.uuid4().hex, "forged id\",\"user\":\"root" + "x" * 100
    for rid in (good, bad):
        page = await user.http_client.get(f"/admin/users?rid={rid[:8]}", headers={"X-Request-ID": rid})
        assert page.status_code == 200
    views = [e for e in read_entries(get_settings(), limit=20, user=ADMIN_USERNAME, action="page.view")
             if e["target"].startswith("/admin/users?rid=")]
    assert views[1]["request_id"] == good  # newest first: the well-formed id is kept...
    assert views[0]["request_id"] != bad and REQUEST_ID.match(views[0]["request_id"])  # ...the forged one replaced
    assert safe_request_id(bad) != bad and safe_request_id(good) == good and safe_request_id(None)
