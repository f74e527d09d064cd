"""POST /login/access-token: an OAuth2 password login that returns a JWT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ...accounts.login import log_in
from ...core.security import create_access_token
from ..deps import LoginForm, client_address, request_id, running_accounts

router = APIRouter(tags=["login"])


class Token(BaseModel):
    """An access token for the Authorization: Bearer header."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/login/access-token", response_model=Token)
async def login_access_token(request: Request, form: LoginForm) -> Token:
    """Exchange username and password for a bearer token (401 on bad credentials, 429 after repeated
    failures, 503 while accounts cannot be loaded from Temporal)."""
    accounts = running_accounts()
    # a refusal is an AccountError, answered by the one handler: 401 with WWW-Authenticate: Bearer, 429 and 503
    # with Retry-After
    principal = await log_in(accounts, form.username, form.password, via="api", client=client_address(request),
                             request_id=request_id(request))
    minutes = accounts.settings.ACCESS_TOKEN_EXPIRE_MINUTES
    issued = datetime.fromtimestamp(principal.authenticated_at or accounts.clock(), UTC)
    token = create_access_token(
        principal.username,
        principal.role,
        secret=accounts.settings.secret_key(),
        expires_delta=timedelta(minutes=minutes),
        now=issued,
    )
    return Token(access_token=token, expires_in=minutes * 60)
