"""/users: the caller's own account, and account management for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ...accounts import admin as account_admin
from ...accounts.admin import Actor
from ...accounts.api_keys import KEY_TYPE
from ...accounts.models import Principal, Role, UserPublic
from ...core.security import BCRYPT_MAX_BYTES, PASSWORD_MIN_LENGTH
from ..deps import AdminUser, CurrentCaller, CurrentUser, client_address, request_id, running_accounts
from ..schemas import ErrorResponse, Responses

ERRORS: Responses = {
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    503: {"model": ErrorResponse, "description": "Accounts cannot be read or written now (see Retry-After)"},
}

ADMINS: Responses = {403: {"model": ErrorResponse, "description": "Not an admin (`forbidden`)"}}
NOT_FOUND: Responses = {404: {"model": ErrorResponse, "description": "No such user (`not_found`)"}}
INVALID: Responses = {
    422: {"model": ErrorResponse, "description": "Malformed body, or values the console cannot use (`invalid`, "
          "`invalid_parameter`): a username off the rule, a password too short or long, a password for a "
          "single sign-on user or a service account"}}
CONFLICT: Responses = {
    409: {"model": ErrorResponse, "description": "The user exists (`conflict`), the change would leave no "
          "enabled admin (`last_admin`), or the accounts changed meanwhile (`changed_meanwhile`)"}}
USERNAME_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\s*$"
"""A username as the accounts take it: trimmed and lowercased, then 1–64 of a-z 0-9 . _ @ - (accounts.py)."""
PASSWORD_RULE = (f"At least {PASSWORD_MIN_LENGTH} characters and at most {BCRYPT_MAX_BYTES} bytes of UTF-8 (422 "
                 "`invalid` otherwise).")
PASSWORD_BOUNDS: dict[str, JsonValue] = {"minLength": PASSWORD_MIN_LENGTH, "maxLength": BCRYPT_MAX_BYTES}
"""Documented only (the accounts check them, answering 422 ``invalid``): ``maxLength`` counts characters, the rule
bytes, so a password of multi-byte characters is refused sooner, as PASSWORD_RULE says."""
Username = Annotated[str, Path(description="A username (case-insensitive).")]

router = APIRouter(prefix="/users", tags=["users"], responses=ERRORS)


class UserCreate(BaseModel):
    """A new account; the password is hashed by the console before it reaches Temporal."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "anyOf": [{"required": ["password"], "properties": {"password": {"type": "string", **PASSWORD_BOUNDS}}},
                  {"required": ["service_account"], "properties": {"service_account": {"const": True}}}],
    })
    username: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": USERNAME_PATTERN},
                          description="1–64 of a-z 0-9 . _ @ -, starting with a letter or digit (stored lowercase)")
    password: str | None = Field(default=None, min_length=1, max_length=1024,
                                 description=PASSWORD_RULE + " Needed, and checked, unless `service_account` is true "
                                 "(then it is ignored).")
    role: Role = "viewer"
    service_account: bool = Field(False, strict=True,  # true or false, as documented: never 0, 1 or "yes"
                                  description="A user that owns API keys and cannot sign in (no password).")


class UserChange(BaseModel):
    """Any of: a new role, a new password, enabled or disabled."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024, json_schema_extra=PASSWORD_BOUNDS,
                                 description=PASSWORD_RULE)
    enabled: bool | None = Field(default=None, strict=True)


def _actor(request: Request, caller: Principal) -> Actor:
    """The caller of an account change, for its audit line (accounts/admin.py)."""
    return Actor(caller, client_address(request), request_id(request))


@router.get("/me", response_model=UserPublic)
async def read_me(user: CurrentUser) -> Response:
    """The caller's account."""
    account = running_accounts().get_user(user.username)
    return Response(account.model_dump_json(), media_type="application/json")


@router.post("/me/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT,
             responses={403: {"model": ErrorResponse, "description": "Called with an API key (`forbidden`)"}})
async def sign_me_out_everywhere(request: Request, caller: CurrentCaller) -> Response:
    """End every session, token and key of the caller, this one included, on every instance (not with a key)."""
    if caller.token.typ == KEY_TYPE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "signing out everywhere needs a signed-in token, not a key")
    return await _sign_out_everywhere(request, caller.principal, caller.principal.username)


@router.get("", response_model=list[UserPublic], responses=ADMINS)
async def list_users(admin: AdminUser) -> list[UserPublic]:
    """Every account (admins only)."""
    return running_accounts().list_users()


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             responses={**ADMINS, **INVALID, **CONFLICT})
async def create_user(body: UserCreate, request: Request, admin: AdminUser) -> UserPublic:
    """Create an account (admins only)."""
    return await account_admin.create_user(running_accounts(), _actor(request, admin), body.username, body.password,
                                           body.role, service_account=body.service_account)


@router.get("/{username}", response_model=UserPublic, responses={**ADMINS, **NOT_FOUND})
async def read_user(username: Username, admin: AdminUser) -> UserPublic:
    """One account (admins only)."""
    return running_accounts().get_user(username)


@router.patch("/{username}", response_model=UserPublic,
              responses={**ADMINS, **NOT_FOUND, **INVALID, **CONFLICT})
async def change_user(username: Username, body: UserChange, request: Request, admin: AdminUser) -> UserPublic:
    """Change role, reset password and/or enable/disable in one atomic change: all of it applies or none of it
    (409 ``last_admin`` when it would demote or disable the last enabled admin). A body that changes nothing (``{}``,
    or only nulls) changes nothing: 200 with the account as it is."""
    if body.role is None and body.password is None and body.enabled is None:
        return running_accounts().get_user(username)
    return await account_admin.change_user(running_accounts(), _actor(request, admin), username, role=body.role,
                                           password=body.password, enabled=body.enabled)


@router.delete("/{username}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**ADMINS, **NOT_FOUND, **CONFLICT})
async def delete_user(username: Username, request: Request, admin: AdminUser) -> Response:
    """Delete an account (never the last admin)."""
    await account_admin.delete_user(running_accounts(), _actor(request, admin), username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{username}/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT,
             responses={**ADMINS, **NOT_FOUND})
async def sign_user_out_everywhere(username: Username, request: Request, admin: AdminUser) -> Response:
    """End every session and token of an account on every instance (admins only)."""
    return await _sign_out_everywhere(request, admin, username)


async def _sign_out_everywhere(request: Request, caller: Principal, username: str) -> Response:
    await account_admin.sign_out_everywhere(running_accounts(), _actor(request, caller), username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
