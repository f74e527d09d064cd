"""/admin/users: create users, change roles, reset passwords, disable and delete (admins only).

Every change goes through accounts/admin.py, the REST API's path too: the same access rule, the same audit lines
(``account.create``, ``account.change``, ``account.delete``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import APIRouter, ui

from ... import services
from ...accounts import admin as account_admin
from ...accounts.admin import Actor
from ...accounts.errors import AccountError, NotAllowed
from ...accounts.models import Principal, UserPublic
from ...accounts.service import AccountsService
from ...runtime.audit import audit
from .. import auth
from ..frame import frame

router = APIRouter()

COLUMNS: list[dict[str, str | bool]] = [
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
    refused (and audited, by the accounts' admin rule) and the page is drawn again, which shows the refusal."""
    try:
        return account_admin.allowed(Actor(auth.current_user(), auth.client_address()), action, target)
    except NotAllowed:
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
    UsersView(services.running().accounts)


Change = Callable[[Actor], Awaitable[object]]
"""One account change on behalf of the page's admin (a call into accounts/admin.py)."""


class UsersView:
    """The users page: a message line, the new-user form, the user table and the actions on the selected user."""

    def __init__(self, accounts: AccountsService) -> None:
        self.accounts = accounts
        with frame("Users"):
            self.message = ui.label("").mark("users-message")
            self._new_user_card()
            self.table = ui.table(columns=COLUMNS, rows=self.rows(), row_key="username").classes("w-full")
            self.table.mark("users-table")
            self._change_card()

    def _new_user_card(self) -> None:
        with ui.card().classes("w-full"):
            ui.label("New user").classes("text-subtitle1")
            with ui.row().classes("items-end gap-2"):
                self.new_name = ui.input("Username").mark("new-username")
                self.new_password = ui.input("Password", password=True).mark("new-password")
                self.new_role = ui.select(["viewer", "admin"], value="viewer", label="Role").mark("new-role")
                self.service = ui.checkbox("Service account (owns API keys, cannot sign in)")
                self.service.mark("new-service-account")
                self.new_password.bind_enabled_from(self.service, "value", backward=lambda on: not on)
                ui.button("Create", on_click=self.create).mark("create-user")

    def _change_card(self) -> None:
        with ui.card().classes("w-full"):
            ui.label("Change a user").classes("text-subtitle1")
            with ui.row().classes("items-end gap-2"):
                self.selected = ui.select(self.usernames(), label="User").classes("min-w-48").mark("selected-user")
                self.role = ui.select(["viewer", "admin"], value="viewer", label="Role").mark("change-role")
                ui.button("Set role", on_click=self.set_role).mark("set-role")
                ui.button("Enable", on_click=lambda: self.set_enabled(True)).mark("enable")
                ui.button("Disable", on_click=lambda: self.set_enabled(False)).mark("disable")
            with ui.row().classes("items-end gap-2"):
                self.reset = ui.input("New password", password=True).mark("reset-password")
                ui.button("Reset password", on_click=self.reset_password).mark("reset")
                ui.button("Delete", color="negative", on_click=self.delete).mark("delete")

    # ---- what the page shows --------------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        """The table's rows: every user."""
        return [
            {**u.model_dump(), "enabled": "yes" if u.enabled else "no", "last_login_at": u.last_login_at or "never",
             "source": _source(u)}
            for u in self.accounts.list_users()
        ]

    def usernames(self) -> list[str]:
        return [u.username for u in self.accounts.list_users()]

    def refresh(self) -> None:
        """The table and the user choice after a change (the selection kept while the user exists)."""
        self.table.rows = self.rows()
        names = self.usernames()
        self.selected.set_options(names, value=self.selected.value if self.selected.value in names else None)

    def say(self, text: str, *, ok: bool) -> None:
        self.message.set_text(text)
        self.message.classes(replace="text-positive" if ok else "text-negative")

    @property
    def target(self) -> str:
        """The selected user ("" when none)."""
        return self.selected.value or ""

    # ---- the actions ------------------------------------------------------------------------------------------------
    async def create(self) -> None:
        name, password = self.new_name.value or "", None if self.service.value else self.new_password.value or ""
        role, service_account = self.new_role.value, bool(self.service.value)
        created = await self._run(lambda actor: account_admin.create_user(
            self.accounts, actor, name, password, role, service_account=service_account
        ), f"created {name.strip().lower()}")
        if created:
            self.new_name.value = ""
        self.new_password.value = ""

    async def set_role(self) -> None:
        role, target = self.role.value, self.target
        await self._run_on_selected(lambda actor: account_admin.change_user(self.accounts, actor, target, role=role),
                                    "role changed")

    async def set_enabled(self, enabled: bool) -> None:
        target = self.target
        await self._run_on_selected(
            lambda actor: account_admin.change_user(self.accounts, actor, target, enabled=enabled),
            "enabled" if enabled else "disabled",
        )

    async def reset_password(self) -> None:
        password, target = self.reset.value or "", self.target
        await self._run_on_selected(
            lambda actor: account_admin.change_user(self.accounts, actor, target, password=password),
            "password changed",
        )
        self.reset.value = ""

    async def delete(self) -> None:
        target = self.target
        await self._run_on_selected(lambda actor: account_admin.delete_user(self.accounts, actor, target), "deleted")

    async def _run_on_selected(self, change: Change, done: str) -> bool:
        if not self.target:
            self.say("Select a user first.", ok=False)
            return False
        return await self._run(change, done)

    async def _run(self, change: Change, done: str) -> bool:
        """Make the change as the page's admin, checked right now (accounts/admin.py refuses and audits anyone
        else: a demoted or signed-out admin's page is drawn again, which shows the refusal); its refusal's message
        or ``done``."""
        actor = Actor(auth.current_user(), auth.client_address())
        try:
            await change(actor)
        except AccountError as exc:
            if isinstance(exc, NotAllowed) and (actor.principal is None or not actor.principal.is_admin):
                ui.navigate.reload()
            else:
                self.say(exc.message, ok=False)
            return False
        self.say(done, ok=True)
        self.refresh()
        return True
