"""Single sign-on routes: /login/oidc sends the browser to the provider, /login/oidc/callback signs it in.

A sign-in that works ends like a password login (a one-time ticket to SESSION_PATH, a new session id, the page asked
for); one that does not goes back to the login page with a short code that the page turns into its message, and
leaves an audit line with the reason. Either way nothing changes for a refused identity.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import APIRouter

from ... import services
from ...accounts.errors import AccountError, AccountsUnavailable, SignInRefused
from ...core.config import Settings, get_settings
from ...runtime.audit import audit, audit_repeated
from ...runtime.client_ip import connection_client
from ...sso.errors import SsoError
from ...sso.identity import identity_from_claims
from ...sso.provider import CALLBACK_PATH, START_PATH, provider_for
from .. import auth

router = APIRouter()
MAX_AUDITED_NAME = 80
MAX_AUDITED_GROUPS = 20
TARGET_KEY = "sso_target"
"""Where the browser goes after the sign-in (kept in its signed session cookie meanwhile)."""


@router.get(START_PATH, include_in_schema=False)
async def start_sign_in(request: Request, redirect_to: str = "/") -> RedirectResponse:
    """To the provider's sign-in page (back to the login page with a message when it does not answer)."""
    settings = get_settings()
    provider = provider_for(settings)
    if provider is None:
        return RedirectResponse(auth.LOGIN_PATH, status_code=303)
    try:
        response = await provider.redirect(request, _external_url(request, settings, CALLBACK_PATH))
    except SsoError as exc:
        return _refused(request, exc)
    request.session[TARGET_KEY] = auth.safe_redirect(redirect_to)
    return response


@router.get(CALLBACK_PATH, include_in_schema=False)
async def finish_sign_in(request: Request) -> RedirectResponse:
    """Verify the provider's answer, bring the user's account up to date and start the console session."""
    settings = get_settings()
    provider = provider_for(settings)
    if provider is None:
        return RedirectResponse(auth.LOGIN_PATH, status_code=303)
    target = auth.safe_redirect(request.session.pop(TARGET_KEY, "/"))
    try:
        claims, id_token = await provider.finish(request)
    except SsoError as exc:
        return _refused(request, exc)
    try:
        identity = identity_from_claims(claims, settings)
    except SsoError as exc:
        claimed = claims.get(settings.OIDC_USERNAME_CLAIM)
        user = claimed[:MAX_AUDITED_NAME] if isinstance(claimed, str) else None
        await _end_access_of(user, claims.get("sub"), exc, request)
        return _refused(request, exc, user=user)
    try:
        accounts = services.running().accounts
        if not accounts.loaded.is_set():
            raise AccountsUnavailable("accounts are not loaded")
        principal = await accounts.sign_in_external(identity.username, identity.subject, identity.role)
    except services.NotStarted:
        return _refused(request, SsoError("starting", "the console is starting"), user=identity.username)
    except SignInRefused as exc:
        code = "disabled" if exc.reason == "disabled" else "account"
        return _refused(request, SsoError(code, exc.reason), user=identity.username)
    except AccountError as exc:
        return _refused(request, SsoError("starting", exc.message), user=identity.username)
    audit("login.success", user=principal.username, role=principal.role, target="ui", outcome="ok", method="oidc",
          client=connection_client(request), groups=list(identity.groups[:MAX_AUDITED_GROUPS]),
          group_count=len(identity.groups))
    end_session_url = await provider.logout_url(id_token, _external_url(request, settings, auth.SESSION_PATH))
    ticket_url = auth.begin_session(principal, target, request=request, method="oidc",
                                    end_session_url=end_session_url)
    return RedirectResponse(ticket_url, status_code=303)


async def _end_access_of(username: str | None, subject: object, refusal: SsoError, request: Request) -> None:
    """A user the provider no longer lets in (out of the allowed groups, or no groups any more) loses what they
    still hold here: their sessions, tokens and API keys end on every instance (as with "sign out everywhere")."""
    if refusal.code not in {"not_allowed", "groups"} or not username:
        return
    try:
        accounts = services.running().accounts
        record = accounts.users.get(username.strip().lower())
        if record is None or record.source != "oidc" or record.subject != subject:
            return
        await accounts.sign_out_everywhere(record.username)
    except (services.NotStarted, AccountError):
        return  # the refusal stands; the user's sessions still end at their maximum age
    audit("account.sign_out_everywhere", user=None, role=None, target=record.username, outcome="ok",
          client=connection_client(request), reason="no longer allowed by the identity provider")


def _external_url(request: Request, settings: Settings, path: str) -> str:
    """``path`` as the browser reaches it: under PUBLIC_URL when set (behind a proxy), else as this request came."""
    base = settings.PUBLIC_URL.rstrip("/") if settings.PUBLIC_URL else str(request.base_url).rstrip("/")
    return base + path


def _refused(request: Request, error: SsoError, *, user: str | None = None) -> RedirectResponse:
    """Back to the login page with the refusal's code, after its audit line: one per refusal of an identity the
    provider vouched for (``user``); aggregated per client for the rest, which anyone can repeat at will."""
    line = audit if user is not None else audit_repeated
    line("login.failure", user=user, role=None, target="ui", outcome="denied", method="oidc", reason=error.reason,
         client=connection_client(request))
    return RedirectResponse(f"{auth.LOGIN_PATH}?sso_error={error.code}", status_code=303)
