"""First admin: created from settings on first start, or (local mode only) with a generated password."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from loguru import logger

from ..core.audit import audit
from ..core.config import DEFAULT_SECRET, Settings
from ..core.security import password_problem
from .service import AccountsService

GENERATED_PASSWORD_FILE = "first_admin_password"


class StartupError(RuntimeError):
    """A configuration problem that must stop the console's start-up."""


def generated_password_path(settings: Settings) -> Path:
    """Where a generated first-admin password is written (mode 0600)."""
    return settings.DATA_DIR / GENERATED_PASSWORD_FILE


def _configured_password(settings: Settings) -> str | None:
    password = settings.FIRST_ADMIN_PASSWORD.get_secret_value() if settings.FIRST_ADMIN_PASSWORD else None
    if password is None:
        if not settings.is_local:
            raise StartupError(
                f"no admin account exists: set FIRST_ADMIN_PASSWORD (ENVIRONMENT={settings.ENVIRONMENT} "
                "does not generate one)"
            )
        return None
    if not settings.is_local and password == DEFAULT_SECRET:
        raise StartupError(
            f"FIRST_ADMIN_PASSWORD may not be {DEFAULT_SECRET!r} when ENVIRONMENT={settings.ENVIRONMENT}"
        )
    problem = password_problem(password)
    if problem:
        raise StartupError(f"FIRST_ADMIN_PASSWORD is not usable: {problem}")
    return password


def _write_secret_file(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value + "\n")


async def ensure_first_admin(accounts: AccountsService, settings: Settings) -> bool:
    """Create the first admin when no enabled admin exists; True when one was created."""
    if accounts.has_enabled_admin():
        return False
    password = _configured_password(settings)
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(18)
    username = settings.FIRST_ADMIN_USERNAME
    created = await accounts.ensure_first_admin(username, password)
    if not created:
        return False
    audit("account.bootstrap_admin", user=None, role=None, target=username, outcome="ok", generated=generated)
    if generated:
        path = generated_password_path(settings)
        _write_secret_file(path, password)
        print(  # once, on the terminal only (never through the log sinks)
            f"\n  Release Console: created admin {username!r} with password: {password}\n"
            f"  (also written to {path}, readable only by you; change it after logging in)\n",
            file=sys.stderr,
            flush=True,
        )
    logger.info("created first admin {!r}", username)
    return True
