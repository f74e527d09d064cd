"""POST /login/access-token: an OAuth2 password login that returns a JWT."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from ...accounts.errors import AccountError, LoginFailed, LoginThrottled
from ...core import metrics
from ...core.audit import attempted_username, audit, audit_repeated
from ...core.security import create_access_token
from ..deps import AccountsDep, client_address, http_error, request_id

router = APIRouter(tags=["login"])


class Token(BaseModel):
    """An access token for the Authorization: Bearer header."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/login/access-token", response_model=Token)
async def login_access_token(
    request: Request, accounts: AccountsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """Exchange username and password for a bearer token (401 on bad credentials, 429 after repeated
    failures, 503 while accounts cannot be loaded from Temporal)."""
    address = client_address(request)
    name = form.username.strip().lower()
    attempted = attempted_username(name, known=name in accounts.users)
    where = {"client": address, "request_id": request_id(request)}
    try:
        principal = await accounts.authenticate(form.username, form.password, address)
    except LoginThrottled as exc:
        metrics.count_login_throttled("api")
        audit_repeated("login.throttled", user=attempted, role=None, target="api", outcome="denied", **where)
        raise http_error(exc) from None
    except LoginFailed as exc:
        metrics.count_login_failure("api")
        audit("login.failure", user=attempted, role=None, target="api", outcome="denied", **where)
        raise http_error(exc) from None  # 401 with WWW-Authenticate: Bearer
    except AccountError as exc:
        audit_repeated("login.failure", user=attempted, role=None, target="api", outcome="error", reason=exc.message,
                       **where)  # e.g. Temporal down: not counted by the throttle, so aggregated here
        raise http_error(exc) from None
    audit("login.success", user=principal.username, role=principal.role, target="api", outcome="ok", **where)
    minutes = accounts.settings.ACCESS_TOKEN_EXPIRE_MINUTES
    token = create_access_token(
        principal.username,
        principal.role,
        secret=accounts.settings.secret_key(),
        expires_delta=timedelta(minutes=minutes),
    )
    return Token(access_token=token, expires_in=minutes * 60)
