"""/admin/users: create users, change roles, reset passwords, disable and delete (admins only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import APIRouter, ui

from ... import services
from ...accounts.errors import AccountError
from ...accounts.models import Principal, UserPublic
from ...core.audit import audit
from .. import auth
from ..frame import frame

router = APIRouter()

COLUMNS = [
    {"name": "username", "label": "Username", "field": "username", "sortable": True, "align": "left"},
    {"name": "role", "label": "Role", "field": "role", "sortable": True, "align": "left"},
    {"name": "source", "label": "Signs in with", "field": "source", "sortable": True, "align": "left"},
    {"name": "enabled", "label": "Enabled", "field": "enabled", "align": "left"},
    {"name": "created_at", "label": "Created", "field": "created_at", "align": "left"},
    {"name": "last_login_at", "label": "Last login", "field": "last_login_at", "align": "left"},
]


def admin_only(title: str) -> Principal | None:
    """The signed-in admin, or None after rendering a clear refusal for viewers."""
    user = auth.current_user()
    if user is not None and user.is_admin:
        auth.mark_admin_page()
        return user
    audit("page.denied", user=user.username if user else None, role=user.role if user else None, target=title,
          outcome="denied", client=auth.client_address())
    with frame(title):
        ui.label("This page needs the admin role.").classes("text-negative text-lg").mark("forbidden")
        ui.label("Ask an admin if you need to manage users or read the audit log.").classes("text-sm opacity-80")
        ui.link("← Back to all releases", "/").mark("back-link")
    return None


def still_admin(action: str, target: str) -> Principal | None:
    """The signed-in admin right now, checked before every admin action of an open page; otherwise the action is
    refused (and audited) and the page is drawn again, which shows the refusal."""
    user = auth.current_user()
    if user is not None and user.is_admin:
        return user
    audit(action, user=user.username if user else None, role=user.role if user else None, target=target,
          outcome="denied", client=auth.client_address(), reason="the admin role is needed")
    ui.navigate.reload()
    return None


def _source(user: UserPublic) -> str:
    if user.service_account:
        return "API keys only (service account)"
    return "single sign-on" if user.source == "oidc" else "password"


@router.page("/admin/users")
def admin_users_page() -> None:
    """The user table and the actions on one selected user."""
    if admin_only("Users") is None:
        return
    accounts = services.running().accounts

    def rows() -> list[dict]:
        return [
            {**u.model_dump(), "enabled": "yes" if u.enabled else "no", "last_login_at": u.last_login_at or "never",
             "source": _source(u)}
            for u in accounts.list_users()
        ]

    async def run(action: str, target: str, change: Callable[[], Awaitable[object]], done: str) -> bool:
        if not target and action != "account.create":
            message.set_text("Select a user first.")
            message.classes(replace="text-negative")
            return False
        admin = still_admin(action, target)
        if admin is None:
            return False
        try:
            await change()
        except AccountError as exc:
            audit(action, user=admin.username, role=admin.role, target=target, outcome="denied",
                  client=auth.client_address(), reason=exc.message)
            message.set_text(exc.message)
            message.classes(replace="text-negative")
            return False
        audit(action, user=admin.username, role=admin.role, target=target, outcome="ok", client=auth.client_address())
        message.set_text(done)
        message.classes(replace="text-positive")
        refresh()
        return True

    def refresh() -> None:
        table.rows = rows()
        names = [u.username for u in accounts.list_users()]
        selected.set_options(names, value=selected.value if selected.value in names else None)

    with frame("Users"):
        message = ui.label("").mark("users-message")
        with ui.card().classes("w-full"):
            ui.label("New user").classes("text-subtitle1")
            with ui.row().classes("items-end gap-2"):
                new_name = ui.input("Username").mark("new-username")
                new_password = ui.input("Password", password=True).mark("new-password")
                new_role = ui.select(["viewer", "admin"], value="viewer", label="Role").mark("new-role")
                service = ui.checkbox("Service account (owns API keys, cannot sign in)").mark("new-service-account")
                new_password.bind_enabled_from(service, "value", backward=lambda on: not on)

                async def create() -> None:
                    name = (new_name.value or "").strip().lower()
                    if await run("account.create", name, lambda: accounts.create_user(
                                     new_name.value or "", None if service.value else new_password.value or "",
                                     new_role.value, service_account=bool(service.value)),
                                 f"created {name}"):
                        new_name.value = ""
                    new_password.value = ""

                ui.button("Create", on_click=create).mark("create-user")
        table = ui.table(columns=COLUMNS, rows=rows(), row_key="username").classes("w-full").mark("users-table")
        with ui.card().classes("w-full"):
            ui.label("Change a user").classes("text-subtitle1")
            with ui.row().classes("items-end gap-2"):
                selected = ui.select([u.username for u in accounts.list_users()], label="User").classes("min-w-48")
                selected.mark("selected-user")
                role = ui.select(["viewer", "admin"], value="viewer", label="Role").mark("change-role")

                def target() -> str:
                    return selected.value or ""

                ui.button("Set role", on_click=lambda: run(
                    "account.role", target(), lambda: accounts.update_user(target(), role=role.value), "role changed"
                )).mark("set-role")
                ui.button("Enable", on_click=lambda: run(
                    "account.enable", target(), lambda: accounts.update_user(target(), enabled=True), "enabled"
                )).mark("enable")
                ui.button("Disable", on_click=lambda: run(
                    "account.disable", target(), lambda: accounts.update_user(target(), enabled=False), "disabled"
                )).mark("disable")
            with ui.row().classes("items-end gap-2"):
                reset = ui.input("New password", password=True).mark("reset-password")

                async def reset_password() -> None:
                    new_password = reset.value or ""
                    await run("account.password", target(),
                              lambda: accounts.update_user(target(), password=new_password), "password changed")
                    reset.value = ""

                ui.button("Reset password", on_click=reset_password).mark("reset")
                ui.button("Delete", color="negative", on_click=lambda: run(
                    "account.delete", target(), lambda: accounts.delete_user(target()), "deleted"
                )).mark("delete")
