"""Account errors are ConsoleErrors answered by the API's one handler (with their own headers), and accounts/admin.py
is the one path of an account change: who may, and the audit line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from release_console.accounts import admin
from release_console.accounts.admin import Actor
from release_console.accounts.errors import (
    AccountError,
    AccountsUnavailable,
    LastAdmin,
    LoginBusy,
    LoginFailed,
    LoginThrottled,
    NotAllowed,
    UserNotFound,
)
from release_console.accounts.models import Principal, UserPublic
from release_console.api.errors import console_error_response
from release_console.core.errors import ConsoleError


@pytest.mark.parametrize(("error", "status", "code", "headers"), [
    (LoginFailed("Incorrect username or password"), 401, "login_failed", {"www-authenticate": "Bearer"}),
    (LoginThrottled("wait", retry_after=7), 429, "too_many_attempts", {"retry-after": "7"}),
    (LoginBusy("busy", retry_after=1), 429, "login_busy", {"retry-after": "1"}),
    (LoginThrottled("wait"), 429, "too_many_attempts", {"retry-after": "1"}),
    (AccountsUnavailable("down"), 503, "accounts_unavailable", {"retry-after": "5"}),
    (UserNotFound("no such user"), 404, "not_found", {}),
    (LastAdmin("the last admin"), 409, "last_admin", {}),
])
def test_an_account_error_is_answered_as_every_console_error(error: AccountError, status: int, code: str,
                                                             headers: dict[str, str]) -> None:
    assert isinstance(error, ConsoleError)
    response = console_error_response(error)
    assert response.status_code == status
    assert json.loads(response.body) == {"detail": error.message, "code": code}
    assert {k: v for k, v in response.headers.items() if k in {"www-authenticate", "retry-after"}} == headers


class FakeAccounts:
    """The AccountsService calls admin.py makes, recorded; ``refuse`` makes the next change fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.refuse: AccountError | None = None

    async def update_user(self, username: str, **fields: Any) -> UserPublic:
        self.calls.append(("update_user", (username, fields)))
        if self.refuse is not None:
            raise self.refuse
        return UserPublic(username=username.strip().lower(), role=fields.get("role") or "viewer", enabled=True)

    async def sign_out_everywhere(self, username: str) -> None:
        self.calls.append(("sign_out_everywhere", username))


@pytest.fixture
def audited(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    monkeypatch.setattr(admin, "audit", lambda action, **fields: lines.append({"action": action, **fields}))
    return lines


ADMIN = Principal("root", "admin")
VIEWER = Principal("vera", "viewer")


async def test_a_change_is_made_and_audited_with_the_same_action_whoever_asks(audited: list[dict]) -> None:
    accounts = FakeAccounts()
    await admin.change_user(accounts, Actor(ADMIN, "10.0.0.1", "rid-1"), " Bob ", role="admin",  # type: ignore[arg-type]
                            enabled=False)
    assert accounts.calls == [("update_user", (" Bob ", {"password": None, "role": "admin", "enabled": False}))]
    assert audited == [{"action": "account.change", "user": "root", "role": "admin", "target": "bob",
                        "outcome": "ok", "client": "10.0.0.1", "request_id": "rid-1", "fields": "role,enabled",
                        "new_role": "admin", "enabled": False}]
    accounts.refuse = LastAdmin("cannot demote 'bob': it is the last enabled admin")
    with pytest.raises(LastAdmin):
        await admin.change_user(accounts, Actor(ADMIN), "bob", role="viewer")  # type: ignore[arg-type]
    assert (audited[-1]["outcome"], audited[-1]["reason"], audited[-1]["fields"]) == (
        "denied", "cannot demote 'bob': it is the last enabled admin", "role")


async def test_only_an_admin_changes_accounts_and_a_user_may_sign_itself_out(audited: list[dict]) -> None:
    accounts = FakeAccounts()
    for who in (VIEWER, None):
        with pytest.raises(NotAllowed):
            await admin.change_user(accounts, Actor(who), "bob", enabled=True)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        await admin.sign_out_everywhere(accounts, Actor(VIEWER), "bob")  # type: ignore[arg-type]
    assert accounts.calls == []  # refused before anything changed
    assert [(e["action"], e["user"], e["outcome"], e["reason"]) for e in audited] == [
        ("account.change", "vera", "denied", admin.ADMIN_NEEDED),
        ("account.change", None, "denied", admin.ADMIN_NEEDED),
        ("account.sign_out_everywhere", "vera", "denied", admin.ADMIN_NEEDED),
    ]
    await admin.sign_out_everywhere(accounts, Actor(VIEWER), "Vera")  # type: ignore[arg-type]
    assert accounts.calls == [("sign_out_everywhere", "Vera")]
    assert (audited[-1]["action"], audited[-1]["target"], audited[-1]["outcome"]) == (
        "account.sign_out_everywhere", "vera", "ok")
