"""/login: the console's login page (then back to the page asked for)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import APIRouter, ui

from ... import services as services_module
from ...accounts.errors import AccountError, LoginFailed, LoginThrottled
from ...accounts.service import AccountsService
from ...core import metrics
from ...core.audit import attempted_username, audit, audit_repeated
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
        accounts = services_module.current().accounts
    except RuntimeError:
        return "The console is starting; try again shortly."
    if accounts is None or not accounts.loaded.is_set():
        return UNAVAILABLE
    return None


def logged_username(name: str, accounts: AccountsService | None) -> str:
    """The attempted username as the audit log keeps it: an unknown one only masked (it may be a password)."""
    normalized = name.strip().lower()
    return attempted_username(normalized, known=accounts is not None and normalized in accounts.users)


@router.page(auth.LOGIN_PATH)
def login_page(redirect_to: str = "/") -> RedirectResponse | None:
    """Username and password; a clear message for wrong credentials, throttling or an unavailable backend."""
    target = auth.safe_redirect(redirect_to)
    if auth.current_user() is not None:
        return RedirectResponse(target)

    async def try_login() -> None:
        error.set_text("")
        name = (username.value or "").strip()
        address = auth.client_address()
        accounts = None
        try:
            accounts = services_module.current().accounts
            if accounts is None:
                raise AccountError("accounts are not available yet; try again shortly")
            principal = await accounts.authenticate(name, password.value or "", address)
        except LoginThrottled as exc:
            metrics.count_login_throttled("ui")
            attempted = logged_username(name, accounts)
            audit_repeated("login.throttled", user=attempted, role=None, target="ui", outcome="denied", client=address)
            error.set_text(exc.message)
            return
        except LoginFailed as exc:
            metrics.count_login_failure("ui")
            attempted = logged_username(name, accounts)
            audit("login.failure", user=attempted, role=None, target="ui", outcome="denied", client=address)
            error.set_text(exc.message)
            return
        except (AccountError, RuntimeError) as exc:
            message = exc.message if isinstance(exc, AccountError) else "the console is starting; try again shortly"
            attempted = logged_username(name, accounts)
            audit_repeated("login.failure", user=attempted, role=None, target="ui", outcome="error", client=address,
                           reason=message)  # not counted by the throttle (e.g. Temporal down): aggregated
            error.set_text(message)
            return
        finally:
            password.value = ""
        audit("login.success", user=principal.username, role=principal.role, target="ui", outcome="ok", client=address)
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
        username = ui.input("Username").props("autofocus autocomplete=username").classes("w-full").mark("username")
        password = (
            ui.input("Password", password=True, password_toggle_button=True)
            .props("autocomplete=current-password")
            .classes("w-full")
            .mark("password")
        )
        error = ui.label("").classes("text-negative").mark("login-error")
        password.on("keydown.enter", try_login)
        ui.button("Log in", on_click=try_login).classes("w-full").mark("login-button")
    return None
