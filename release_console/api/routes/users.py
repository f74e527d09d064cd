"""/users: the caller's own account, and account management for admins."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ...accounts import admin as account_admin
from ...accounts.admin import Actor
from ...accounts.api_keys import KEY_TYPE
from ...accounts.models import Principal, Role, UserPublic
from ..deps import AdminUser, CurrentCaller, CurrentUser, client_address, request_id, running_accounts

router = APIRouter(prefix="/users", tags=["users"])


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


def _actor(request: Request, caller: Principal) -> Actor:
    """The caller of an account change, for its audit line (accounts/admin.py)."""
    return Actor(caller, client_address(request), request_id(request))


@router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUser) -> Response:
    """The caller's account."""
    account = running_accounts().get_user(user.username)
    return Response(account.model_dump_json(), media_type="application/json")


@router.post("/me/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT)
async def sign_me_out_everywhere(request: Request, caller: CurrentCaller) -> Response:
    """End every session, token and key of the caller, this one included, on every instance (not with a key)."""
    if caller.token.typ == KEY_TYPE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "signing out everywhere needs a signed-in token, not a key")
    return await _sign_out_everywhere(request, caller.principal, caller.principal.username)


@router.get("", response_model=list[UserPublic])
async def list_users(admin: AdminUser) -> list[UserPublic]:
    """Every account (admins only)."""
    return running_accounts().list_users()


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, request: Request, admin: AdminUser) -> UserPublic:
    """Create an account (admins only)."""
    return await account_admin.create_user(running_accounts(), _actor(request, admin), body.username, body.password,
                                           body.role, service_account=body.service_account)


@router.get("/{username}", response_model=UserPublic)
async def read_user(username: str, admin: AdminUser) -> UserPublic:
    """One account (admins only)."""
    return running_accounts().get_user(username)


@router.patch("/{username}", response_model=UserPublic)
async def change_user(username: str, body: UserChange, request: Request, admin: AdminUser) -> UserPublic:
    """Change role, reset password and/or enable/disable in one atomic change: all of it applies or none of it
    (409 ``last_admin`` when it would demote or disable the last enabled admin)."""
    if body.role is None and body.password is None and body.enabled is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "nothing to change: give role, password or enabled")
    return await account_admin.change_user(running_accounts(), _actor(request, admin), username, role=body.role,
                                           password=body.password, enabled=body.enabled)


@router.delete("/{username}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(username: str, request: Request, admin: AdminUser) -> Response:
    """Delete an account (never the last admin)."""
    await account_admin.delete_user(running_accounts(), _actor(request, admin), username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{username}/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT)
async def sign_user_out_everywhere(username: str, request: Request, admin: AdminUser) -> Response:
    """End every session and token of an account on every instance (admins only)."""
    return await _sign_out_everywhere(request, admin, username)


async def _sign_out_everywhere(request: Request, caller: Principal, username: str) -> Response:
    await account_admin.sign_out_everywhere(running_accounts(), _actor(request, caller), username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
