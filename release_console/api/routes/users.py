"""/users: the caller's own account, and account management for admins."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ...accounts.api_keys import KEY_TYPE
from ...accounts.errors import AccountError
from ...accounts.models import Principal, Role, UserPublic
from ...core.audit import audit
from ..deps import (
    AccountsDep,
    AdminUser,
    CurrentCaller,
    CurrentUser,
    client_address,
    http_error,
    request_id,
    running_accounts,
)

router = APIRouter(prefix="/users", tags=["users"])
T = TypeVar("T")


class UserCreate(BaseModel):
    """A new account; the password is hashed by the console before it reaches Temporal."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    role: Role = "viewer"
    service_account: bool = Field(False, description="A user that owns API keys and cannot sign in (no password).")


class UserChange(BaseModel):
    """Any of: a new role, a new password, enabled or disabled."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    enabled: bool | None = None


def _audit_change(request: Request, admin: Principal, action: str, target: str, outcome: str, **extra: object) -> None:
    audit(
        action,
        user=admin.username,
        role=admin.role,
        target=target,
        outcome=outcome,
        client=client_address(request),
        request_id=request_id(request),
        **extra,
    )


async def _audited(request: Request, caller: Principal, action: str, target: str, change: Awaitable[T],
                   **extra: object) -> T:
    """The result of an account ``change``, with its audit line: ``ok``, or ``denied`` with the reason (then the
    refusal's HTTP error)."""
    try:
        result = await change
    except AccountError as exc:
        _audit_change(request, caller, action, target, "denied", reason=exc.message, **extra)
        raise http_error(exc) from None
    _audit_change(request, caller, action, target, "ok", **extra)
    return result


@router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUser) -> Response:
    """The caller's account."""
    try:
        account = running_accounts().get_user(user.username)
    except AccountError as exc:
        raise http_error(exc) from None
    return Response(account.model_dump_json(), media_type="application/json")


@router.post("/me/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT)
async def sign_me_out_everywhere(request: Request, caller: CurrentCaller, accounts: AccountsDep) -> Response:
    """End every session, token and key of the caller, this one included, on every instance (not with a key)."""
    if caller.token.typ == KEY_TYPE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "signing out everywhere needs a signed-in token, not a key")
    return await _sign_out_everywhere(request, caller.principal, caller.principal.username, accounts)


@router.get("", response_model=list[UserPublic])
async def list_users(admin: AdminUser, accounts: AccountsDep) -> list[UserPublic]:
    """Every account (admins only)."""
    return accounts.list_users()


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, request: Request, admin: AdminUser, accounts: AccountsDep) -> UserPublic:
    """Create an account (admins only)."""
    target = body.username.strip().lower()
    try:
        created = await accounts.create_user(body.username, body.password, body.role,
                                             service_account=body.service_account)
    except AccountError as exc:
        _audit_change(request, admin, "account.create", target, "denied", reason=exc.message)
        raise http_error(exc) from None
    _audit_change(request, admin, "account.create", created.username, "ok", new_role=created.role,
                  service_account=created.service_account)
    return created


@router.get("/{username}", response_model=UserPublic)
async def read_user(username: str, admin: AdminUser, accounts: AccountsDep) -> UserPublic:
    """One account (admins only)."""
    try:
        return accounts.get_user(username)
    except AccountError as exc:
        raise http_error(exc) from None


@router.patch("/{username}", response_model=UserPublic)
async def change_user(
    username: str, body: UserChange, request: Request, admin: AdminUser, accounts: AccountsDep
) -> UserPublic:
    """Change role, reset password and/or enable/disable in one atomic change: all of it applies or none of it
    (409 ``last_admin`` when it would demote or disable the last enabled admin)."""
    if body.role is None and body.password is None and body.enabled is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "nothing to change: give role, password or enabled")
    target = username.strip().lower()
    changed = [field for field in ("password", "role", "enabled") if getattr(body, field) is not None]
    extra: dict[str, object] = {"fields": ",".join(changed)}
    if body.role is not None:
        extra["new_role"] = body.role
    if body.enabled is not None:
        extra["enabled"] = body.enabled
    change = accounts.update_user(username, password=body.password, role=body.role, enabled=body.enabled)
    return await _audited(request, admin, "account.change", target, change, **extra)


@router.delete("/{username}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(username: str, request: Request, admin: AdminUser, accounts: AccountsDep) -> Response:
    """Delete an account (never the last admin)."""
    await _audited(request, admin, "account.delete", username.strip().lower(), accounts.delete_user(username))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{username}/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT)
async def sign_user_out_everywhere(username: str, request: Request, admin: AdminUser,
                                   accounts: AccountsDep) -> Response:
    """End every session and token of an account on every instance (admins only)."""
    return await _sign_out_everywhere(request, admin, username, accounts)


async def _sign_out_everywhere(request: Request, caller: Principal, username: str, accounts: AccountsDep) -> Response:
    await _audited(request, caller, "account.sign_out_everywhere", username.strip().lower(),
                   accounts.sign_out_everywhere(username))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
