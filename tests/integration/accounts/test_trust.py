"""The accounts trust boundary on the real Temporal server: only console-signed records are users.

Anyone who may send Updates to the accounts workflow (every deployment system in its namespace) can write records;
these tests write them straight to the workflow, as such a system could, and check that the console does not
accept them: no login, no listing, no role.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from loguru import logger
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from release_console import services as services_module
from release_console.accounts.bootstrap import ensure_first_admin
from release_console.accounts.errors import LoginFailed
from release_console.accounts.service import AccountsService
from release_console.accounts.signing import RecordSigner
from release_console.core.config import Settings
from release_console.core.security import hash_password
from release_console.workflows.accounts import UPDATE_PUT, AccountsSnapshot, PutUser
from release_console.workflows.accounts_v1 import (
    UPDATE_CREATE,
    UPDATE_ROLE,
    UPDATE_USER,
    CreateUser,
    SetRole,
    UpdateUser,
)
from tests.helpers import eventually, login

LOGIN = "/api/v1/login/access-token"
ATTACKER_PASSWORD = "attacker-password-1"


def console_accounts() -> AccountsService:
    accounts = services_module.current().accounts
    assert accounts is not None
    return accounts


def workflow(accounts: AccountsService) -> WorkflowHandle:
    """The console's own accounts workflow, reached the way any Temporal client of that namespace can."""
    return accounts.client.get_workflow_handle(accounts.settings.ACCOUNTS_WORKFLOW_ID)


async def send(handle: WorkflowHandle, name: str, arg: object) -> AccountsSnapshot:
    return await handle.execute_update(name, arg, result_type=AccountsSnapshot)


def forged_put(username: str, password_hash: str, signer: RecordSigner | None = None, *,
               expected: str | None = None) -> PutUser:
    """An admin record as anyone may write it (``expected``: the signature of the record it replaces, read from the
    workflow like everything else there)."""
    change = PutUser(username, password_hash, "admin", True, None, "v1:" + "0" * 64, expected)
    if signer is not None:
        change.signature = signer.sign(change)
    return change


@pytest.mark.parametrize("how", ["made-up signature", "signed with a guessed key"])
async def test_an_admin_created_straight_in_temporal_cannot_log_in_and_is_not_listed(
    api: httpx.AsyncClient, admin_headers: dict[str, str], unique: str, how: str
) -> None:
    accounts = console_accounts()
    name = f"mallory-{unique}"
    chosen_hash = hash_password(ATTACKER_PASSWORD, rounds=4)
    signer = RecordSigner("changethis") if "guessed" in how else None
    snapshot = await send(workflow(accounts), UPDATE_PUT, forged_put(name, chosen_hash, signer))
    assert name in [u.username for u in snapshot.users]  # the workflow took it...
    await accounts.refresh()
    assert accounts.version >= snapshot.version and name in accounts.records  # ...and the console has read it
    response = await api.post(LOGIN, data={"username": name, "password": ATTACKER_PASSWORD})
    assert response.status_code == 401, response.text
    listed = await api.get("/api/v1/users", headers=admin_headers)
    assert listed.status_code == 200 and name not in [u["username"] for u in listed.json()]
    assert (await api.get(f"/api/v1/users/{name}", headers=admin_headers)).status_code == 404


async def test_the_retired_updates_write_nothing(api: httpx.AsyncClient, admin_headers: dict[str, str],
                                                unique: str) -> None:
    """create_user, update_user and set_role wrote records without a signature: the console's workflow refuses them."""
    accounts = console_accounts()
    name = f"viewer-{unique}"
    created = await api.post("/api/v1/users", json={"username": name, "password": "viewer-password-1"},
                             headers=admin_headers)
    assert created.status_code == 201, created.text
    record = accounts.records[name]
    mallory = CreateUser(f"mallory-{unique}", hash_password(ATTACKER_PASSWORD, rounds=4), "admin")
    for update, arg in [(UPDATE_CREATE, mallory), (UPDATE_USER, UpdateUser(name, role="admin")),
                        (UPDATE_ROLE, SetRole(name, "admin"))]:
        with pytest.raises(WorkflowUpdateFailedError):
            await send(workflow(accounts), update, arg)
    await accounts.refresh(force=True)
    assert accounts.records[name] == record and mallory.username not in accounts.records


async def test_a_role_raised_straight_in_temporal_is_refused(
    api: httpx.AsyncClient, admin_headers: dict[str, str], unique: str
) -> None:
    accounts = console_accounts()
    name, password = f"viewer-{unique}", "viewer-password-1"
    created = await api.post("/api/v1/users", json={"username": name, "password": password, "role": "viewer"},
                             headers=admin_headers)
    assert created.status_code == 201, created.text
    headers = await login(api, name, password)
    assert (await api.get("/api/v1/users", headers=headers)).status_code == 403
    current = accounts.records[name]
    snapshot = await send(workflow(accounts), UPDATE_PUT,  # the whole record again, as admin, not signed by a console
                          forged_put(name, current.password_hash, expected=current.signature))
    assert next(u for u in snapshot.users if u.username == name).role == "admin"  # stored, but not signed
    await accounts.refresh()
    assert (await api.get("/api/v1/users", headers=headers)).status_code == 401  # not an admin: not a user at all
    assert (await api.post(LOGIN, data={"username": name, "password": password})).status_code == 401
    listed = await api.get("/api/v1/users", headers=admin_headers)
    assert name not in [u["username"] for u in listed.json()]
    # an admin gives the name back by creating it again: the signed record replaces the tampered one
    again = await api.post("/api/v1/users", json={"username": name, "password": "new-password-2", "role": "viewer"},
                           headers=admin_headers)
    assert again.status_code == 201, again.text
    renewed = await login(api, name, "new-password-2")
    assert (await api.get("/api/v1/users/me", headers=renewed)).json()["role"] == "viewer"


def isolated(settings: Settings, unique: str, tmp_path: Path, **changes: object) -> Settings:
    return settings.model_copy(update={"ACCOUNTS_WORKFLOW_ID": f"accounts-trust-{unique}", "DATA_DIR": tmp_path,
                                       "ACCOUNTS_REFRESH_SECONDS": 0.2, **changes})


async def test_a_console_with_another_secret_key_accepts_none_of_the_records(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    first = isolated(settings, unique, tmp_path, SECRET_KEY=SecretStr("first-secret-key-" + "a" * 32))
    other = isolated(settings, unique, tmp_path, SECRET_KEY=SecretStr("other-secret-key-" + "b" * 32))
    one, two = AccountsService(client, first), AccountsService(client, other)
    await one.start(on_first_load=lambda: ensure_first_admin(one, first))
    try:
        await one.create_user(f"bob-{unique}", "bob-password-1", "viewer")
        await two.start()
        assert set(two.records) == {first.FIRST_ADMIN_USERNAME, f"bob-{unique}"}  # it reads them...
        assert two.users == {} and two.list_users() == [] and not two.has_enabled_admin()  # ...and trusts none
        assert two.principal(f"bob-{unique}") is None
        for name, password in [(f"bob-{unique}", "bob-password-1"),
                               (first.FIRST_ADMIN_USERNAME, first.FIRST_ADMIN_PASSWORD.get_secret_value())]:
            with pytest.raises(LoginFailed):
                await two.authenticate(name, password, None)
        assert (await one.authenticate(f"bob-{unique}", "bob-password-1", None)).role == "viewer"
    finally:
        await one.stop()
        await two.stop()


async def test_an_untrusted_record_is_logged_once_by_name_never_by_hash(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    local = isolated(settings, unique, tmp_path)
    accounts = AccountsService(client, local)
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, local))
    try:
        chosen_hash = hash_password(ATTACKER_PASSWORD, rounds=4)
        await send(workflow(accounts), UPDATE_PUT, forged_put(f"eve-{unique}", chosen_hash))
        for _ in range(5):
            await accounts.refresh(force=True)
        polled = accounts.queries
        await eventually(lambda: accounts.queries >= polled + 2, what="two background polls of the accounts")
        about_eve = [m for m in messages if f"eve-{unique}" in m]
        assert len(about_eve) == 1 and "ignoring account" in about_eve[0], messages
        assert not any(chosen_hash in m or chosen_hash[7:] in m for m in messages)
    finally:
        logger.remove(sink)
        await accounts.stop()


async def test_a_stale_console_never_undoes_a_newer_change(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    shared = isolated(settings, unique, tmp_path)
    one, two = AccountsService(client, shared), AccountsService(client, shared)
    await one.start(on_first_load=lambda: ensure_first_admin(one, shared))
    name = f"carol-{unique}"
    try:
        await one.create_user(name, "carol-password-1", "viewer")
        await two.start()
        await two.stop()  # no more polling: two's cache is now frozen
        await one.update_user(name, password="carol-password-2")
        assert two.users[name].password_hash != one.users[name].password_hash  # two is stale
        await two.set_role(name, "admin")  # refused as stale by the workflow, reloaded, written again
        await one.refresh()
        assert one.users[name].role == "admin"
        assert (await one.authenticate(name, "carol-password-2", None)).role == "admin"  # the reset was kept
    finally:
        await one.stop()
