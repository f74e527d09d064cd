"""Account errors, each with the HTTP status and a message that is safe to show (never a secret)."""

from __future__ import annotations


class AccountError(Exception):
    """A refused account operation."""

    status = 400
    code = "account_error"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


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
