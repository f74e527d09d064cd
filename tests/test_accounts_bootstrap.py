"""First-admin bootstrap and the accounts cache, on the real Temporal server (own workflow id per test)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from release_console.accounts.bootstrap import StartupError, ensure_first_admin, generated_password_path
from release_console.accounts.service import AccountsService
from release_console.core.config import Settings


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
