"""Account errors, each with the HTTP status and a message that is safe to show (never a secret).

Each is a :class:`~release_console.core.errors.ConsoleError`: the API's one handler (api/errors.py) answers it as
it answers every other error; pages show ``message``.
"""

from __future__ import annotations

from ..core.errors import ConsoleError

BEARER = {"WWW-Authenticate": "Bearer"}
"""What a 401 tells the client: send a bearer token (RFC 6750)."""


class AccountError(ConsoleError):
    """A refused account operation."""

    status = 400
    code = "account_error"

    def http_headers(self) -> dict[str, str] | None:
        """WWW-Authenticate: Bearer on a 401 (a failed login); Retry-After on a 429 (1 s when not known) and, as
        for every ConsoleError, on a 503."""
        if self.status == 401:
            return dict(BEARER)
        if self.status == 429 and not self.retry_after:
            return {"Retry-After": "1"}
        return super().http_headers()


class InvalidAccountData(AccountError):
    status = 422
    code = "invalid"


class UserExists(AccountError):
    status = 409
    code = "conflict"


class UserNotFound(AccountError):
    status = 404
    code = "not_found"


class LastAdmin(AccountError):
    status = 409
    code = "last_admin"


class ChangedMeanwhile(AccountError):
    """The user's record changed (another console, or a write straight to Temporal) since this console read it."""

    status = 409
    code = "changed_meanwhile"


class LoginFailed(AccountError):
    """Wrong username or password (the same message for both)."""

    status = 401
    code = "login_failed"


class LoginThrottled(AccountError):
    status = 429
    code = "too_many_attempts"


class NotAllowed(AccountError):
    """The caller may not do this (even though the request is well formed)."""

    status = 403
    code = "forbidden"


class PasswordSignInOff(AccountError):
    """LOCAL_LOGIN=false: passwords are refused (except the break-glass admin's)."""

    status = 403
    code = "password_sign_in_off"


class SignInRefused(AccountError):
    """A single sign-on identity the console will not let in; ``reason`` names why (for the audit line and page)."""

    status = 403
    code = "sign_in_refused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class LoginBusy(AccountError):
    """More password checks in flight than the bcrypt pool takes: refused at once, never queued."""

    status = 429
    code = "login_busy"


class AccountsUnavailable(AccountError):
    status = 503
    code = "accounts_unavailable"


BY_WORKFLOW_TYPE: dict[str, type[AccountError]] = {
    "invalid": InvalidAccountData,
    "conflict": UserExists,
    "not_found": UserNotFound,
    "last_admin": LastAdmin,
    "stale": ChangedMeanwhile,
}
