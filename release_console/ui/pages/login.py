"""/login: the console's login page (then back to the page asked for)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi.responses import RedirectResponse
from nicegui import APIRouter, ui

from ... import services
from ...accounts.errors import AccountError
from ...accounts.login import log_in
from ...core.config import get_settings
from ...sso.errors import MESSAGES as SSO_MESSAGES
from ...sso.provider import START_PATH
from .. import auth
from ..frame import frame, show_banner

router = APIRouter()
router.add_api_route(auth.SESSION_PATH, auth.session_route, methods=["GET"], include_in_schema=False)

CHECK_SECONDS = 1.0
UNAVAILABLE = (
    "Temporal unreachable: login is unavailable because user accounts are kept in Temporal, which the console "
    "cannot reach right now. It retries on its own; this page updates when login works again."
)


def login_unavailable_reason() -> str | None:
    """Why no one can log in right now (accounts not loaded from Temporal), or None when login works."""
    try:
        accounts = services.running().accounts
    except services.NotStarted:
        return "The console is starting; try again shortly."
    if not accounts.loaded.is_set():
        return UNAVAILABLE
    return None


@router.page(auth.LOGIN_PATH)
def login_page(redirect_to: str = "/", sso_error: str = "", local: bool = False) -> RedirectResponse | None:
    """"Sign in with <provider>" when single sign-on is configured, and username and password unless
    LOCAL_LOGIN=false (then behind "Local sign-in (break-glass)", or ``?local=true``); a clear message for wrong
    credentials, throttling, an unavailable backend or a refused single sign-on."""
    target = auth.safe_redirect(redirect_to)
    if auth.current_user() is not None:
        return RedirectResponse(target)
    settings = get_settings()

    async def try_login() -> None:
        error.set_text("")
        try:
            accounts = services.running().accounts
        except services.NotStarted:
            accounts = None  # log_in refuses: the console is starting
        try:
            principal = await log_in(accounts, (username.value or "").strip(), password.value or "", via="ui",
                                     client=auth.client_address())
        except AccountError as exc:
            error.set_text(exc.message)  # wrong credentials, throttled, or accounts unavailable (audited by log_in)
            return
        finally:
            password.value = ""
        ui.navigate.to(auth.begin_session(principal, target))

    def check_available() -> None:
        reason = login_unavailable_reason()
        if reason != shown_reason[0]:
            shown_reason[0] = reason
            notice.clear()
            if reason:
                show_banner(notice, reason, kind="warning")

    shown_reason: list[str | None] = [None]
    with frame("Log in") as page, ui.card().classes("w-full max-w-sm mx-auto mt-12 gap-3"):
        with page.banner:
            notice = ui.column().classes("w-full gap-1").mark("login-unavailable")
        check_available()
        ui.timer(CHECK_SECONDS, check_available)
        ui.label("Log in to Release Console").classes("text-h6")
        if sso_error in SSO_MESSAGES:
            ui.label(SSO_MESSAGES[sso_error]).classes("text-negative").mark("sso-error")
        if settings.oidc_enabled:
            sign_in = ui.button(f"Sign in with {settings.OIDC_DISPLAY_NAME}").props("no-caps").classes("w-full")
            sign_in.mark("sso-button")
            sign_in.props["href"] = f"{START_PATH}?{urlencode({'redirect_to': target})}"  # a link: the browser leaves
        with ui.column().classes("w-full gap-3") as password_form:
            username = ui.input("Username").props("autocomplete=username").classes("w-full").mark("username")
            password = (
                ui.input("Password", password=True, password_toggle_button=True)
                .props("autocomplete=current-password")
                .classes("w-full")
                .mark("password")
            )
            error = ui.label("").classes("text-negative").mark("login-error")
            password.on("keydown.enter", try_login)
            ui.button("Log in", on_click=try_login).classes("w-full").mark("login-button")
        if not settings.LOCAL_LOGIN:
            password_form.set_visibility(local)
            if not local:
                break_glass = f"{auth.LOGIN_PATH}?{urlencode({'local': 'true', 'redirect_to': target})}"
                ui.link("Local sign-in (break-glass admin)", break_glass).classes("text-caption") \
                    .mark("break-glass-link")
        elif not settings.oidc_enabled:
            username.props("autofocus")
    return None
