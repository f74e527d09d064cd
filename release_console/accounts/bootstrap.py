"""First admin: created from settings on first start, or (local mode only) with a generated password."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from loguru import logger

from ..core.audit import audit
from ..core.config import Settings
from ..workflows.accounts import ENSURE_CREATED, ENSURE_RESTORED
from .first_admin import StartupError, configured_password
from .service import AccountsService

__all__ = ["StartupError", "ensure_first_admin", "generated_password_path"]

GENERATED_PASSWORD_FILE = "first_admin_password"


def generated_password_path(settings: Settings) -> Path:
    """Where a generated first-admin password is written (mode 0600)."""
    return settings.DATA_DIR / GENERATED_PASSWORD_FILE


def _write_secret_file(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value + "\n")


async def ensure_first_admin(accounts: AccountsService, settings: Settings) -> bool:
    """Make sure an enabled admin exists; True when one was created or an existing user was restored as admin.

    A user named FIRST_ADMIN_USERNAME that already exists is never overwritten: it is re-enabled and promoted
    with its own password (and created_at) kept, and no password is generated or printed for it.
    """
    if accounts.has_enabled_admin():
        return False
    password = configured_password(settings)
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(18)
    username = settings.FIRST_ADMIN_USERNAME
    outcome = await accounts.ensure_first_admin(username, password)
    if outcome == ENSURE_RESTORED:
        audit("account.restore_admin", user=None, role=None, target=username, outcome="ok")
        logger.warning("no enabled admin existed: re-enabled {!r} as admin (its password is unchanged)", username)
        return True
    if outcome != ENSURE_CREATED:
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
