"""/api-keys: the signed-in user's API keys: create one (shown once, with a copy button and a curl example), list
them without their secrets, revoke one. The same service as the REST routes (accounts/api_keys.py)."""

from __future__ import annotations

from nicegui import APIRouter, ui

from ... import services
from ...accounts.api_keys import NewApiKey
from ...accounts.errors import AccountError
from ...runtime.audit import audit
from .. import auth
from ..frame import frame

router = APIRouter()

COLUMNS = [
    {"name": name, "label": label, "field": name, "align": "left"}
    for name, label in (("name", "Name"), ("id", "Id"), ("scope", "Scope"), ("created_at", "Created"),
                        ("expires_at", "Expires"), ("last_used_at", "Last used here"))
]


def curl_example(key: str, base_url: str) -> str:
    """How a script uses the key."""
    return f'curl -H "Authorization: Bearer {key}" {base_url}/api/v1/releases'


@router.page("/api-keys")
def api_keys_page() -> None:
    """Create, list and revoke the signed-in user's keys."""
    user = auth.current_user()
    if user is None:
        return
    accounts = services.running().accounts
    settings = accounts.settings

    def rows() -> list[dict]:
        keys = accounts.api_keys.of(user.username)
        return [k.model_dump() | {"last_used_at": k.last_used_at or "never"} for k in keys]

    def refresh() -> None:
        table.rows = rows()
        table.update()

    async def create() -> None:
        if auth.current_user() is None:  # the session may have ended since the page was drawn
            ui.navigate.reload()
            return
        name = (name_input.value or "").strip()
        session = auth.current_session() or {}
        try:
            created = await accounts.api_keys.create(user, user.username, name, int(days_input.value or 0), "read",
                                                     creator_issued_at=float(session.get("login_at", 0.0)))
        except AccountError as exc:
            message.set_text(exc.message)
            return
        except ValueError:
            message.set_text("Give the key a name (1–64 printable characters) and a lifetime in days.")
            return
        audit("api_key.create", user=user.username, role=user.role, target=created.id, outcome="ok",
              client=auth.client_address(), owner=user.username, scope=created.scope)
        message.set_text("")
        name_input.value = ""
        refresh()
        show_once(created)

    def show_once(created: NewApiKey) -> None:
        base = (settings.PUBLIC_URL or "http://localhost:8080").rstrip("/")
        with ui.dialog() as dialog, ui.card().classes("max-w-3xl"):
            ui.label(f"API key “{created.name}”").classes("text-lg font-bold")
            ui.label("Copy it now: it is shown only this once.").classes("text-negative")
            ui.code(created.key, language="text").classes("w-full").mark("new-key")
            ui.label("Use it like this:").classes("text-sm")
            ui.code(curl_example(created.key, base), language="bash").classes("w-full").mark("curl-example")
            ui.button("Done", on_click=dialog.close).mark("key-done")
        dialog.on("hide", dialog.delete)  # the key leaves the page once the dialog is closed
        dialog.open()

    async def revoke(key_id: str) -> None:
        if auth.current_user() is None:
            ui.navigate.reload()
            return
        record = accounts.api_keys.by_id.get(key_id)
        if record is None or record.owner != user.username:
            message.set_text("No such key.")
            return
        try:
            await accounts.api_keys.revoke(key_id)
        except AccountError as exc:
            message.set_text(exc.message)
            return
        audit("api_key.revoke", user=user.username, role=user.role, target=key_id, outcome="ok",
              client=auth.client_address(), owner=user.username)
        refresh()

    with frame("API keys"):
        ui.label("Keys let scripts call the REST API as you (read-only). A key stops working when you revoke it, "
                 "when it expires, or when you sign out everywhere.").classes("text-sm opacity-80")
        with ui.row().classes("items-end gap-2"):
            name_input = ui.input("Name", validation={"at most 64 characters": lambda v: len(v or "") <= 64}) \
                .props("maxlength=64").mark("key-name")
            days_input = ui.number("Expires in days", value=settings.API_KEY_DEFAULT_DAYS, min=1,
                                   max=settings.API_KEY_MAX_DAYS, precision=0).mark("key-days")
            ui.button("Create key", icon="key", on_click=create).mark("create-key")
        message = ui.label("").classes("text-negative").mark("key-message")
        table = ui.table(columns=[*COLUMNS, {"name": "revoke", "label": "", "field": "id"}], rows=rows(),
                         row_key="id").classes("w-full").mark("keys-table")
        table.props("dense wrap-cells")
        table.add_slot("body-cell-revoke", """
            <q-td :props="props">
              <q-btn flat dense color="negative" icon="delete" label="Revoke"
                     @click="() => $parent.$emit('revoke', props.row.id)" />
            </q-td>""")
        table.on("revoke", lambda e: revoke(str(e.args)))
