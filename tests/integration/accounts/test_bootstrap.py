"""First-admin bootstrap and the accounts cache, on the real Temporal server (own workflow id per test)."""

from __future__ import annotations

import asyncio
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from release_console.accounts.bootstrap import StartupError, ensure_first_admin, generated_password_path
from release_console.accounts.errors import LoginFailed
from release_console.accounts.service import AccountsService
from release_console.core.config import Settings
from release_console.core.security import hash_password
from release_console.workflows.accounts import (
    UPDATE_PUT,
    AccountRecord,
    AccountsInput,
    AccountsSnapshot,
    AccountsWorkflow,
    PutUser,
)


def isolated(settings: Settings, unique: str, tmp_path: Path, **changes: object) -> Settings:
    return settings.model_copy(update={"ACCOUNTS_WORKFLOW_ID": f"accounts-boot-{unique}", "DATA_DIR": tmp_path,
                                       "ACCOUNTS_REFRESH_SECONDS": 0.2, **changes})


async def test_local_mode_generates_a_password_once(client: Client, settings: Settings, unique: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    local = isolated(settings, unique, tmp_path, FIRST_ADMIN_PASSWORD=None)
    accounts = AccountsService(client, local)
    await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, local))
    try:
        path = generated_password_path(local)
        password = path.read_text().strip()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert password in capsys.readouterr().err
        principal = await accounts.authenticate(local.FIRST_ADMIN_USERNAME, password, "10.0.0.1")
        assert principal.role == "admin"
        assert not await ensure_first_admin(accounts, local)  # an admin exists: nothing printed again
        assert password not in capsys.readouterr().err
    finally:
        await accounts.stop()


async def test_outside_local_mode_a_missing_admin_password_stops_start_up(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    production = isolated(settings, unique, tmp_path, ENVIRONMENT="production", FIRST_ADMIN_PASSWORD=None)
    accounts = AccountsService(client, production)
    with pytest.raises(StartupError, match="FIRST_ADMIN_PASSWORD"):
        await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, production))
    await accounts.stop()
    weak = isolated(settings, unique, tmp_path, ENVIRONMENT="production", FIRST_ADMIN_PASSWORD=SecretStr("changethis"))
    accounts = AccountsService(client, weak)
    with pytest.raises(StartupError, match="changethis"):
        await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, weak))
    await accounts.stop()
    assert not generated_password_path(production).exists()


async def test_a_second_console_sees_changes_through_version_polling(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    shared = isolated(settings, unique, tmp_path)
    one, two = AccountsService(client, shared), AccountsService(client, shared)
    await one.start(on_first_load=lambda: ensure_first_admin(one, shared))
    await two.start()
    try:
        await one.create_user(f"poll-{unique}", "poll-password-1", "viewer")
        assert two.principal(f"poll-{unique}") is None  # not yet: two only reads its cache
        before = two.queries
        for _ in range(50):
            if two.principal(f"poll-{unique}") is not None:
                break
            await asyncio.sleep(0.1)
        assert two.principal(f"poll-{unique}") is not None
        await one.set_enabled(f"poll-{unique}", False)
        for _ in range(50):
            if two.principal(f"poll-{unique}") is None:
                break
            await asyncio.sleep(0.1)
        assert two.principal(f"poll-{unique}") is None
        print(f"version polling: {two.queries - before} queries while 2 changes propagated")
    finally:
        await one.stop()
        await two.stop()


@pytest.mark.parametrize("configured", [True, False], ids=["FIRST_ADMIN_PASSWORD", "generated"])
async def test_unsigned_records_from_before_signing_are_ignored_and_the_admin_is_made_again(
    client: Client, settings: Settings, unique: str, tmp_path: Path, configured: bool
) -> None:
    local = isolated(settings, unique, tmp_path, **({} if configured else {"FIRST_ADMIN_PASSWORD": None}))
    admin, viewer, old = local.FIRST_ADMIN_USERNAME, f"old-viewer-{unique}", "old-password-1"
    old_hash = hash_password(old, rounds=4)
    await client.start_workflow(  # the accounts as an earlier version left them: no signatures
        AccountsWorkflow.run,
        AccountsInput(users=[AccountRecord(admin, old_hash, "admin", True, "2024-01-01T00:00:00Z"),
                             AccountRecord(viewer, old_hash, "viewer", True, "2024-01-01T00:00:00Z")], version=7),
        id=local.ACCOUNTS_WORKFLOW_ID, task_queue=local.TEMPORAL_TASK_QUEUE, execution_timeout=timedelta(minutes=10),
    )
    accounts = AccountsService(client, local)
    made: list[bool] = []

    async def bootstrap() -> None:
        made.append(await ensure_first_admin(accounts, local))

    await accounts.start(on_first_load=bootstrap)
    try:
        assert made == [True]
        password = (local.FIRST_ADMIN_PASSWORD.get_secret_value() if configured
                    else generated_password_path(local).read_text().strip())
        assert (await accounts.authenticate(admin, password, None)).role == "admin"
        for name in (admin, viewer):  # the unsigned hashes no longer open anything
            with pytest.raises(LoginFailed):
                await accounts.authenticate(name, old, None)
        assert [u.username for u in accounts.list_users()] == [admin]
        assert accounts.users[admin].created_at == "2024-01-01T00:00:00Z"  # the record was replaced in place
        assert not await ensure_first_admin(accounts, local)  # a trusted admin exists now
    finally:
        await accounts.stop()


async def test_a_trusted_first_admin_is_restored_with_its_own_password_when_no_trusted_admin_is_left(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    shared = isolated(settings, unique, tmp_path)
    admin, boss = shared.FIRST_ADMIN_USERNAME, f"boss-{unique}"
    one = AccountsService(client, shared)
    await one.start(on_first_load=lambda: ensure_first_admin(one, shared))
    try:
        await one.create_user(boss, "boss-password-1", "admin")
        await one.update_user(admin, password="admin-own-password-2", enabled=False)
        # the only enabled admin left is tampered with straight in Temporal: its record is no longer trusted
        handle = one.client.get_workflow_handle(shared.ACCOUNTS_WORKFLOW_ID)
        signed = one.records[boss]
        forged = PutUser(boss, hash_password("x-password-1", rounds=4), "admin", True, None, "v1:" + "0" * 64,
                         expected=signed.signature)
        await handle.execute_update(UPDATE_PUT, forged, result_type=AccountsSnapshot)
    finally:
        await one.stop()
    two = AccountsService(client, shared)
    await two.start(on_first_load=lambda: ensure_first_admin(two, shared))
    try:
        assert (await two.authenticate(admin, "admin-own-password-2", None)).role == "admin"  # kept, not reset
        with pytest.raises(LoginFailed):
            await two.authenticate(admin, shared.FIRST_ADMIN_PASSWORD.get_secret_value(), None)
        assert two.principal(boss) is None
    finally:
        await two.stop()
