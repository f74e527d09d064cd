"""The first-admin password from settings: checked at start-up, before Temporal is contacted."""

from __future__ import annotations

from ..core.config import DEFAULT_SECRET, Settings
from ..core.security import password_problem


class StartupError(RuntimeError):
    """A configuration problem that must stop the console's start-up."""


def configured_password(settings: Settings) -> str | None:
    """FIRST_ADMIN_PASSWORD when usable; None in local mode when unset (one is generated); StartupError otherwise."""
    password = settings.FIRST_ADMIN_PASSWORD.get_secret_value() if settings.FIRST_ADMIN_PASSWORD else None
    if password is None:
        if not settings.is_local:
            raise StartupError(
                f"set FIRST_ADMIN_PASSWORD: ENVIRONMENT={settings.ENVIRONMENT} needs it to create (or guarantee) "
                "the first admin and never generates one"
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


def require_first_admin_password(settings: Settings) -> None:
    """Fail fast (StartupError) when the configured first-admin password cannot be used."""
    configured_password(settings)
