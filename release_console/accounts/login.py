"""One login for the REST API and the login page: authenticate, then the outcome's audit line and metrics.

``login.success``; ``login.failure`` (wrong credentials, counted; or accounts unavailable, or a password while
LOCAL_LOGIN=false, aggregated because the throttle does not count them); ``login.throttled`` (aggregated,
counted). The caller turns a refusal into its answer (an HTTP error, a message on the page).
"""

from __future__ import annotations

from typing import Literal

from ..runtime import metrics
from ..runtime.audit import attempted_username, audit, audit_repeated
from .errors import AccountError, LoginBusy, LoginFailed, LoginThrottled, PasswordSignInOff
from .models import Principal
from .service import AccountsService, normalize_username

NOT_STARTED = "the console is starting; try again shortly"
PASSWORDS_OFF = "password sign-in is turned off here; sign in with single sign-on"


async def log_in(
    accounts: AccountsService | None,
    username: str,
    password: str,
    *,
    via: Literal["api", "ui"],
    client: str | None,
    request_id: str | None = None,
) -> Principal:
    """The principal for valid credentials, audit-logged; otherwise the AccountError (LoginFailed, LoginThrottled,
    AccountsUnavailable …, or NOT_STARTED while ``accounts`` is None) after its audit line and count."""
    where = {"client": client, "request_id": request_id}
    try:
        if accounts is None:
            raise AccountError(NOT_STARTED)
        if not password_allowed(accounts, username):
            raise PasswordSignInOff(PASSWORDS_OFF)
        principal = await accounts.authenticate(username, password, client)
    except PasswordSignInOff:
        audit_repeated("login.failure", user=_attempted(username, accounts), role=None, target=via, outcome="denied",
                       reason="password sign-in is off", **where)  # no bcrypt spent: aggregated like a refusal
        raise
    except (LoginThrottled, LoginBusy):
        metrics.count_login_throttled(via)
        audit_repeated("login.throttled", user=_attempted(username, accounts), role=None, target=via,
                       outcome="denied", **where)
        raise
    except LoginFailed:
        metrics.count_login_failure(via)
        audit("login.failure", user=_attempted(username, accounts), role=None, target=via, outcome="denied", **where)
        raise
    except AccountError as exc:
        audit_repeated("login.failure", user=_attempted(username, accounts), role=None, target=via, outcome="error",
                       reason=exc.message, **where)  # e.g. Temporal down: not counted by the throttle, so aggregated
        raise
    audit("login.success", user=principal.username, role=principal.role, target=via, outcome="ok", method="password",
          **where)
    return principal


def password_allowed(accounts: AccountsService, username: str) -> bool:
    """Whether ``username`` may sign in with a password: anyone with LOCAL_LOGIN, else only the break-glass admin."""
    settings = accounts.settings
    return settings.LOCAL_LOGIN or normalize_username(username) == settings.break_glass_username


def _attempted(username: str, accounts: AccountsService | None) -> str:
    """The attempted username as the audit log keeps it: an unknown one only masked (it may be a password)."""
    name = username.strip().lower()
    return attempted_username(name, known=accounts is not None and name in accounts.users)
