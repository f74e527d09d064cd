"""AccountsService start-up and login on the real Temporal server (own accounts workflow id per test)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from release_console.accounts import password_pool
from release_console.accounts.bootstrap import StartupError, ensure_first_admin
from release_console.accounts.errors import LoginFailed
from release_console.accounts.service import AccountsService
from release_console.core.config import Settings
from release_console.core.security import verify_password


def isolated(settings: Settings, unique: str, tmp_path: Path, **changes: object) -> Settings:
    return settings.model_copy(update={"ACCOUNTS_WORKFLOW_ID": f"accounts-login-{unique}", "DATA_DIR": tmp_path,
                                       "ACCOUNTS_REFRESH_SECONDS": 0.2, **changes})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unknown_user_login_still_runs_one_bcrypt_check(
    client: Client, settings: Settings, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = isolated(settings, unique, tmp_path)
    accounts = AccountsService(client, local)
    await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, local))
    checked: list[str] = []

    def counting_verify(plain: str, hashed: str) -> bool:
        checked.append(hashed)
        return verify_password(plain, hashed)

    monkeypatch.setattr(password_pool, "verify_password", counting_verify)
    try:
        for username in (f"ghost-{unique}", local.FIRST_ADMIN_USERNAME):
            with pytest.raises(LoginFailed) as failed:
                await accounts.authenticate(username, "wrong-password-1", None)
            assert failed.value.message == "Incorrect username or password"
        assert len(checked) == 2  # one bcrypt verification for the unknown user as for the known one
        ghost_hash, admin_hash = checked
        assert ghost_hash.startswith(f"$2b${local.BCRYPT_ROUNDS:02d}$")  # same cost as real hashes
        assert admin_hash == accounts.users[local.FIRST_ADMIN_USERNAME].password_hash
    finally:
        await accounts.stop()


async def test_a_login_during_the_first_load_waits_for_it(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    accounts = AccountsService(client, isolated(settings, unique, tmp_path))
    starting = asyncio.create_task(accounts.start())
    try:
        with pytest.raises(LoginFailed):  # answered from the loaded users (a wrong password), not "unavailable"
            await accounts.authenticate(f"ghost-{unique}", "wrong-password-1", None)
        assert accounts.loaded.is_set()
    finally:
        await starting
        await accounts.stop()


@pytest.mark.parametrize(
    ("password", "message"),
    [(None, "set FIRST_ADMIN_PASSWORD"), ("changethis", "may not be 'changethis'"), ("short", "not usable")],
)
async def test_outside_local_mode_a_bad_admin_password_fails_before_temporal_is_contacted(
    settings: Settings, unique: str, tmp_path: Path, password: str | None, message: str
) -> None:
    # a client whose server is down: the old start-up went on and retried in the background instead of failing
    unreachable = await Client.connect(f"127.0.0.1:{closed_port()}", lazy=True)
    production = isolated(settings, unique, tmp_path, ENVIRONMENT="production",
                          FIRST_ADMIN_PASSWORD=SecretStr(password) if password else None)
    accounts = AccountsService(unreachable, production)
    try:
        with pytest.raises(StartupError, match=message):
            await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, production))
    finally:
        await accounts.stop()
    assert not accounts.loaded.is_set()


async def test_update_user_changes_nothing_when_refused(
    client: Client, settings: Settings, unique: str, tmp_path: Path
) -> None:
    local = isolated(settings, unique, tmp_path)
    accounts = AccountsService(client, local)
    await accounts.start(on_first_load=lambda: ensure_first_admin(accounts, local))
    admin, old = local.FIRST_ADMIN_USERNAME, local.FIRST_ADMIN_PASSWORD.get_secret_value()
    try:
        version = accounts.version
        with pytest.raises(Exception, match="last enabled admin"):
            await accounts.update_user(admin, password="brand-new-password-1", role="viewer")
        assert accounts.version == version
        assert (await accounts.authenticate(admin, old, None)).role == "admin"
        with pytest.raises(LoginFailed):
            await accounts.authenticate(admin, "brand-new-password-1", None)
    finally:
        await accounts.stop()
