"""The one page frame: header (product, user and role, admin links, API docs, dark mode, logout) and a banner area.

Every page does ``with frame("Title") as page: ...``; ``page.banner`` is where pages put "data as of …" or
"Temporal unreachable" messages. For signed-in users the frame itself shows "Temporal unreachable" while the shared
health signal says so (pages that explain outages in their own banner pass ``outage_banner=False``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nicegui import app, ui

from .. import services
from ..accounts.models import Principal
from ..readpath.health import TemporalHealth
from . import auth
from .components.search_box import SHORTCUT_SCRIPT, SearchBox
from .components.time_ago import exact_time
from .live import live_css
from .theme import apply_theme

PRODUCT_NAME = "Release Console"
ADMIN_LINKS: tuple[tuple[str, str], ...] = (("Users", "/admin/users"), ("Audit log", "/admin/audit"))
DARK_MODE_KEY = "dark_mode"


@dataclass
class Frame:
    """Handles a page gets from :func:`frame`."""

    banner: ui.column
    """Where a page puts "data as of …" or "Temporal unreachable" messages, above its content."""


def signed_in_user() -> Principal | None:
    """The signed-in user (``.username``, ``.role``) or None when no one is."""
    try:
        return auth.current_user()
    except RuntimeError:  # outside a page's context (e.g. a background task): nobody is signed in
        return None


def _dark_mode_storage() -> dict | None:
    try:
        return app.storage.user
    except (AssertionError, RuntimeError):  # no storage_secret / no request: fall back to the browser's setting
        return None


def _dark_mode_toggle() -> None:
    storage = _dark_mode_storage()
    dark = ui.dark_mode(storage.get(DARK_MODE_KEY) if storage is not None else None)

    def toggle() -> None:
        dark.value = not dark.value
        if storage is not None:
            storage[DARK_MODE_KEY] = dark.value
        button.props["aria-pressed"] = "true" if dark.value else "false"
        button.props(f"icon={'light_mode' if dark.value else 'dark_mode'}")

    button = ui.button(icon="light_mode" if dark.value else "dark_mode", on_click=toggle)
    button.props('flat round dense color=white aria-label="Dark mode"').tooltip("Dark mode").mark("dark-mode-toggle")
    button.props["aria-pressed"] = "true" if dark.value else "false"  # a toggle: whether dark mode is on


def page_heading(title: str) -> ui.label:
    """The page's one ``h1``: its title in the header, as text (escaped), cut with an ellipsis on screen with the
    whole title on hover and for screen readers (which alone get it on narrow windows)."""
    heading = ui.label(title).classes("rc-page-title truncate max-sm:sr-only")
    heading.tag = "h1"
    heading.props["title"] = title
    return heading


@contextmanager
def frame(title: str, *, outage_banner: bool = True) -> Iterator[Frame]:
    """Render the shared header around a page's content (and, for signed-in users, the Temporal outage banner)."""
    apply_theme()
    ui.add_css(live_css())
    ui.page_title(f"{title} · {PRODUCT_NAME}")
    user = signed_in_user()
    with ui.header(elevated=True).classes("items-center gap-3 px-4 py-2 bg-primary"):
        ui.link(PRODUCT_NAME, "/").classes("text-lg font-bold text-white no-underline").mark("product-link")
        page_heading(title)
        ui.space()
        if user is not None:
            SearchBox()  # release or entity id → its page
            ui.add_body_html(SHORTCUT_SCRIPT)  # "/" focuses it
        if user is not None and user.is_admin:
            for text, target in ADMIN_LINKS:
                ui.link(text, target).classes("text-white no-underline")
        ui.link("API docs", "/docs", new_tab=True).classes("text-white no-underline")
        _dark_mode_toggle()
        if user is not None:
            with ui.row().classes("items-center gap-1 no-wrap"):
                ui.icon("person").classes("text-white")
                ui.label(str(user.username)).classes("text-white").mark("current-user")
                ui.badge(str(user.role), color="white", text_color="primary").classes("rc-on-light") \
                    .mark("current-role")
            menu_button = ui.button(icon="more_vert").props('flat dense round color=white aria-label="Account menu"')
            with menu_button.mark("user-menu"), ui.menu():
                ui.menu_item("API keys", on_click=lambda: ui.navigate.to("/api-keys")).mark("api-keys-link")
                ui.menu_item("Notifications", on_click=lambda: ui.navigate.to("/notifications")) \
                    .mark("notifications-link")
                ui.menu_item("Sign out everywhere", on_click=auth.sign_out_everywhere).mark("sign-out-everywhere")
            ui.button("Log out", icon="logout", on_click=auth.logout).props("flat dense color=white").mark("logout")
    banner = ui.column().classes("w-full gap-1").mark("banner")
    if outage_banner and user is not None:
        with banner:
            OutageBanner()
    with ui.column().classes("w-full gap-3 p-2 max-w-screen-2xl mx-auto"):  # the page's content goes in here
        yield Frame(banner=banner)


class OutageBanner:
    """"Temporal unreachable" while the shared health signal says so; gone (without a reload) when it answers again.

    It follows the health signal's listener: a page costs nothing while Temporal is fine (no timer per tab)."""

    def __init__(self) -> None:
        self.container = ui.column().classes("w-full gap-1").mark("outage-banner")
        self.shown: tuple | None = None
        self.client = ui.context.client
        try:
            health = services.running().health
        except RuntimeError:
            health = None
        self.check(health)
        if health is not None:
            remove = health.add_listener(self._on_health)
            self.client.on_delete(remove)

    def _on_health(self, health: TemporalHealth) -> None:
        if not self.client.is_deleted:
            with self.client:
                self.check(health)

    def check(self, health: TemporalHealth | None) -> None:
        """Show, update or remove the banner."""
        key = None if health is None or health.up else (health.reason, health.since)
        if key == self.shown:
            return
        self.shown = key
        self.container.clear()
        if health is not None and key is not None:
            add_banner(
                self.container,
                f"Temporal unreachable since {exact_time(health.since)}: {health.reason}. "
                "Retrying; what this page shows may be out of date.",
            )


def show_banner(container: ui.column, message: str, *, kind: str = "warning") -> None:
    """Replace the banner's content by one message (kind: info, warning, negative)."""
    container.clear()
    add_banner(container, message, kind=kind)


def add_banner(container: ui.column, message: str, *, kind: str = "warning") -> None:
    """Append one message to the banner area."""
    colors = {
        "info": "bg-blue-1 text-blue-10",
        "warning": "bg-amber-2 text-amber-10",
        "negative": "bg-red-1 text-red-10",
    }
    icons = {"info": "info", "warning": "warning", "negative": "error"}
    with container, ui.row().classes(f"w-full items-center gap-2 px-4 py-2 {colors.get(kind, colors['info'])}"):
        ui.icon(icons.get(kind, "info"))
        ui.label(message).mark(f"banner-{kind}")
