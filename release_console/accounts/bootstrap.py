"""First admin: created from settings on first start, or (local mode only) with a generated password.

Only trusted (console-signed) admins count. When none exists — a new install, a data dir from before records were
signed, a changed SECRET_KEY, or the admin's record tampered with in Temporal — FIRST_ADMIN_USERNAME is made an admin:
its trusted record is re-enabled and promoted (password kept), or a new record with FIRST_ADMIN_PASSWORD (or, in
local mode, a generated password) is written, replacing an untrusted record of that name.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from loguru import logger

from ..core.config import Settings
from ..runtime.audit import audit
from .first_admin import StartupError, configured_password
from .service import ENSURE_CREATED, ENSURE_REPLACED, ENSURE_RESTORED, AccountsService

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
    """Make sure a trusted enabled admin exists; True when one was created or an existing user was restored as admin.

    A trusted user named FIRST_ADMIN_USERNAME is never overwritten: it is re-enabled and promoted with its own
    password (and created_at) kept, and no password is generated or printed for it. An untrusted record of that name
    (unsigned or badly signed) is replaced, as if no user of that name existed.
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
        logger.warning("no trusted enabled admin existed: re-enabled {!r} as admin (password unchanged)", username)
        return True
    if outcome not in (ENSURE_CREATED, ENSURE_REPLACED):
        return False
    if outcome == ENSURE_REPLACED:
        logger.warning("the record of {!r} was not signed by this console (from before records were signed, another "
                       "SECRET_KEY, or written straight to Temporal): replaced it with a new admin", username)
    audit("account.bootstrap_admin", user=None, role=None, target=username, outcome="ok", generated=generated,
          replaced=outcome == ENSURE_REPLACED)
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
