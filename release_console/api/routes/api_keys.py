"""/api-keys: long-lived keys for scripts (accounts/api_keys.py). Managed with a signed-in token, never with a key:
a leaked key can read, never mint, list or revoke keys."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...accounts.api_keys import KEY_TYPE, ApiKeyPublic, NewApiKey
from ...accounts.errors import AccountError
from ...accounts.service import normalize_username
from ...runtime.audit import audit
from ..deps import Caller, CurrentCaller, client_address, request_id, running_accounts
from ..schemas import ErrorResponse

FORBIDDEN = {403: {"model": ErrorResponse, "description": "Called with a key, or not allowed for this caller "
                   "(`forbidden`: the admin scope, another user's key, too many keys)"}}
router = APIRouter(prefix="/api-keys", tags=["api keys"], responses=FORBIDDEN)  # type: ignore[arg-type]


class ApiKeyCreate(BaseModel):
    """A new key: a label, a lifetime, and for admins a scope and an owner (a service account, say)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    expires_in_days: int | None = Field(default=None, ge=1)
    scope: Literal["read", "admin"] = "read"
    owner: str | None = Field(default=None, max_length=64, description="Admins only: whose key it is.")

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable() or not value.strip():
            raise ValueError("the name must be printable text")
        return value.strip()


def not_with_a_key(caller: Caller) -> None:
    """403 for a caller that came with an API key (key management and sign-out need a signed-in token)."""
    if caller.token.typ == KEY_TYPE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "API keys are managed with a signed-in token, not with a key")


def _audit(request: Request, caller: Caller, action: str, key_id: str, outcome: str, **extra: object) -> None:
    audit(action, user=caller.principal.username, role=caller.principal.role, target=key_id, outcome=outcome,
          client=client_address(request), request_id=request_id(request), **extra)


@router.post("", response_model=NewApiKey, status_code=status.HTTP_201_CREATED, responses={
    404: {"model": ErrorResponse, "description": "No such owner (`not_found`)"},
    409: {"model": ErrorResponse, "description": "The accounts changed meanwhile (`changed_meanwhile`)"},
    422: {"model": ErrorResponse, "description": "Malformed body, or a lifetime past API_KEY_MAX_DAYS (`invalid`)"},
})
async def create_api_key(body: ApiKeyCreate, request: Request, caller: CurrentCaller) -> NewApiKey:
    """Create a key (the answer is the only time it is shown). ``scope: admin`` and ``owner`` are for admins."""
    not_with_a_key(caller)
    accounts = running_accounts()
    owner = normalize_username(body.owner) if body.owner else caller.principal.username
    days = body.expires_in_days or accounts.settings.API_KEY_DEFAULT_DAYS
    try:
        created = await accounts.api_keys.create(caller.principal, owner, body.name, days, body.scope,
                                                 creator_issued_at=caller.token.iat)
    except AccountError as exc:
        _audit(request, caller, "api_key.create", owner, "denied", reason=exc.message)
        raise  # answered by the one ConsoleError handler
    _audit(request, caller, "api_key.create", created.id, "ok", owner=owner, scope=created.scope)
    return created


@router.get("", response_model=list[ApiKeyPublic])
async def list_api_keys(caller: CurrentCaller,
                        all_users: bool = Query(False, alias="all", description="Admins: every user's keys.")
                        ) -> list[ApiKeyPublic]:
    """The caller's keys (without their secrets); with ``all=true`` an admin sees every key."""
    not_with_a_key(caller)
    if all_users and not caller.principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the admin role")
    return running_accounts().api_keys.of(None if all_users else caller.principal.username)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses={
    404: {"model": ErrorResponse, "description": "No such key, or another user's (`not_found`)"},
    409: {"model": ErrorResponse, "description": "The accounts changed meanwhile (`changed_meanwhile`)"},
})
async def revoke_api_key(key_id: str, request: Request, caller: CurrentCaller) -> Response:
    """Revoke one of the caller's keys (an admin: any key)."""
    not_with_a_key(caller)
    accounts = running_accounts()
    record = accounts.api_keys.by_id.get(key_id)
    if record is None or (record.owner != caller.principal.username and not caller.principal.is_admin):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such API key")
    try:
        await accounts.api_keys.revoke(key_id)
    except AccountError as exc:
        _audit(request, caller, "api_key.revoke", key_id, "denied", reason=exc.message)
        raise
    _audit(request, caller, "api_key.revoke", key_id, "ok", owner=record.owner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
