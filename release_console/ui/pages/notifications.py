"""/notifications: the signed-in user's subscriptions, the channels they may use (shared and personal), and their
recent deliveries. The same service as the REST routes (notifications/service.py): reads come from its memory,
writes are its Updates; its errors carry messages safe to show, shown here as they are.

A channel's URL is shown only masked (the service never hands out more); the URL field is emptied once a channel is
saved, so what the user typed is not shown back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from loguru import logger
from nicegui import APIRouter, ui

from ... import services
from ...accounts.models import Principal
from ...notifications.errors import NotificationError
from ...notifications.models import EVENT_MEANINGS, EVENTS, ChannelPublic, DeliveryPublic, SubscriptionPublic
from .. import auth
from ..components.time_ago import exact_time
from ..frame import frame

router = APIRouter()

DELIVERY_REFRESH_SECONDS = 10.0
"""How often an open page reads the recent deliveries again (DeliveryLog shares one listing between pages)."""
RECENT_DELIVERIES = 50
CONSOLE_ONLY = "console"
"""The channel select's value for "this console only" (a subscription without a channel)."""
CONSOLE_ONLY_LABEL = "this console only"
URL_HINT = ("An Apprise URL, for example json://hooks.example.com/path (a JSON POST), "
            "mailto://user:password@mail.example.com?to=ops@example.com, slack://TokenA/TokenB/TokenC/#channel, "
            "msteams://… (a Teams webhook). It is stored encrypted and only shown masked.")
RELEASE_HINT = '"*" for every release, a release id (release:rel-001), or a prefix ending in "*" (release:rel-*)'
UNEXPECTED = "Something went wrong; the error has been logged. Try again."

SUBSCRIPTION_COLUMNS = [
    {"name": "release", "label": "Release", "field": "release", "align": "left"},
    {"name": "events", "label": "Events", "field": "events", "align": "left"},
    {"name": "channel", "label": "Channel", "field": "channel", "align": "left"},
    {"name": "created_at", "label": "Created", "field": "created_at", "align": "left"},
    {"name": "delete", "label": "", "field": "id"},
]
CHANNEL_COLUMNS = [
    {"name": "name", "label": "Name", "field": "name", "align": "left"},
    {"name": "scope", "label": "Scope", "field": "scope", "align": "left"},
    {"name": "kind", "label": "Kind", "field": "kind", "align": "left"},
    {"name": "url", "label": "URL (masked)", "field": "url", "align": "left"},
    {"name": "actions", "label": "", "field": "id"},
]
DELIVERY_COLUMNS = [
    {"name": "started_at", "label": "Started", "field": "started_at", "align": "left"},
    {"name": "release", "label": "Release", "field": "release", "align": "left"},
    {"name": "event", "label": "Event", "field": "event", "align": "left"},
    {"name": "channel", "label": "Channel", "field": "channel", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "reason", "label": "Reason", "field": "reason", "align": "left"},
]
STATUS_COLORS = {"sending": "blue-9", "delivered": "green-9", "failed": "red-9"}
"""Backgrounds of a delivery's status badge: white text on each reads at 5:1 or better (the status is written)."""


T = TypeVar("T")


def subscription_row(sub: SubscriptionPublic) -> dict[str, object]:
    """What the subscriptions table shows of one subscription."""
    channel = CONSOLE_ONLY_LABEL if sub.channel is None else sub.channel_name or "(a channel that no longer exists)"
    return {"id": sub.id, "release": sub.release, "events": ", ".join(sub.events), "channel": channel,
            "created_at": exact_time(sub.created_at)}


def channel_row(channel: ChannelPublic, user: Principal) -> dict[str, object]:
    """What the channels table shows of one channel (its masked URL only)."""
    return {"id": channel.id, "name": channel.name, "scope": channel.scope, "kind": channel.kind, "url": channel.url,
            "can_delete": channel.scope == "personal" or user.is_admin}


def delivery_row(delivery: DeliveryPublic) -> dict[str, object]:
    """What the deliveries table shows of one delivery."""
    return {"id": delivery.id, "started_at": exact_time(delivery.started_at), "release": delivery.release,
            "event": delivery.event, "channel": delivery.channel_name or delivery.channel,
            "status": delivery.status, "reason": delivery.reason or "",
            "color": STATUS_COLORS.get(delivery.status, "grey-8")}


def channel_options(channels: list[ChannelPublic]) -> dict[str, str]:
    """The subscription form's channel choices: this console only, then every channel the user may use."""
    options = {CONSOLE_ONLY: CONSOLE_ONLY_LABEL}
    for channel in channels:
        options[channel.id] = f"{channel.name} ({channel.kind}, {channel.scope})"
    return options


class Message:
    """One section's line for what an action did (or why not)."""

    def __init__(self, marker: str) -> None:
        self.label = ui.label("").mark(marker)

    def ok(self, text: str) -> None:
        self.label.set_text(text)
        self.label.classes(replace="text-positive")

    def error(self, text: str) -> None:
        self.label.set_text(text)
        self.label.classes(replace="text-negative")

    def clear(self) -> None:
        self.label.set_text("")


@router.page("/notifications")
def notifications_page() -> None:
    """Subscriptions, channels and recent deliveries of the signed-in user."""
    user = auth.current_user()
    if user is None:
        return
    running = services.running()
    service, deliveries = running.notifications, running.deliveries
    client = ui.context.client

    with frame("Notifications"):
        if not running.settings.NOTIFICATIONS_ENABLED:
            ui.label("Notifications are turned off on this console (NOTIFICATIONS_ENABLED is false).") \
                .classes("text-lg").mark("notifications-off")
            return
        ui.label("Subscribe to releases to be told when they fail, complete, close or stall: on a channel (Slack, "
                 "Teams, e-mail, a webhook …) or only in this console's open pages. The Watch switch of a release "
                 "page adds (or removes) a subscription to that release.").classes("text-sm opacity-80")
        unavailable = ui.label("").classes("text-negative").mark("notifications-unavailable")

        def listed(read: Callable[[], list[T]]) -> list[T]:
            """A list from the service's memory; none (and the reason shown) while it is not loaded."""
            try:
                found = read()
            except NotificationError as exc:
                unavailable.set_text(f"Notifications are unavailable right now: {exc.message}")
                return []
            unavailable.set_text("")
            return found

        def channel_list() -> list[ChannelPublic]:
            """Shared channels first, then personal ones, by name."""
            found = listed(lambda: service.list_channels(user))
            return sorted(found, key=lambda c: (c.scope != "shared", c.name.lower(), c.id))

        def subscription_rows() -> list[dict[str, object]]:
            """Oldest first."""
            found = listed(lambda: service.list_subscriptions(user))
            return [subscription_row(s) for s in sorted(found, key=lambda s: (s.created_at, s.id))]

        async def act(message: Message, action: Callable[[Principal], Awaitable[object]], done: str) -> bool:
            """Run a write as the page's user, still signed in; its refusal shown in ``message``."""
            acting = auth.current_user()
            if acting is None:  # the session ended since the page was drawn
                ui.navigate.reload()
                return False
            try:
                await action(acting)
            except NotificationError as exc:
                message.error(exc.message)
                return False
            except Exception:  # a bug: logged with its traceback, never shown
                logger.exception("notifications page action failed")
                message.error(UNEXPECTED)
                return False
            message.ok(done)
            refresh()
            return True

        # ---- subscriptions ---------------------------------------------------------------------------------------
        with ui.card().classes("w-full"):
            ui.label("Your subscriptions").classes("text-subtitle1 font-bold")
            subscription_message = Message("subscription-message")
            subscriptions = ui.table(columns=SUBSCRIPTION_COLUMNS, rows=subscription_rows(), row_key="id") \
                .classes("w-full").mark("subscriptions-table")
            subscriptions.props('dense wrap-cells no-data-label="No subscriptions yet."')
            subscriptions.add_slot("body-cell-delete", """
                <q-td :props="props">
                  <q-btn flat dense color="negative" icon="delete" label="Delete"
                         @click="() => $parent.$emit('delete', props.row.id)" />
                </q-td>""")

            async def delete_subscription(subscription_id: str) -> None:
                await act(subscription_message, lambda acting: service.delete_subscription(acting, subscription_id),
                          "Subscription deleted.")

            subscriptions.on("delete", lambda e: delete_subscription(str(e.args)))

            ui.label("Add a subscription").classes("text-sm font-bold mt-2")
            with ui.row().classes("items-start gap-2 w-full"):
                release_input = ui.input("Release", placeholder="release:rel-001").props("maxlength=140") \
                    .classes("w-72").mark("subscription-release")
                release_input.tooltip(RELEASE_HINT)
                channel_select = ui.select(channel_options(channel_list()), value=CONSOLE_ONLY, label="Channel") \
                    .classes("min-w-64").mark("subscription-channel")
            ui.label(RELEASE_HINT).classes("text-xs opacity-70")
            event_boxes: dict[str, ui.checkbox] = {}
            with ui.column().classes("gap-0"):
                for event in EVENTS:
                    with ui.row().classes("items-center gap-2 no-wrap"):
                        event_boxes[event] = ui.checkbox(event, value=event in {"release.failed", "app.failed"}) \
                            .mark(f"event {event}")
                        ui.label(EVENT_MEANINGS[event]).classes("text-xs opacity-70")

            async def add_subscription() -> None:
                release = (release_input.value or "").strip()
                events = [event for event, box in event_boxes.items() if box.value]
                if not release:
                    subscription_message.error(f"Name the release: {RELEASE_HINT}.")
                    return
                if not events:
                    subscription_message.error("Choose at least one event.")
                    return
                channel = None if channel_select.value in (None, CONSOLE_ONLY) else str(channel_select.value)
                if await act(subscription_message,
                             lambda acting: service.create_subscription(acting, release, events, channel),
                             f"Subscribed to {release}."):
                    release_input.value = ""

            ui.button("Add subscription", icon="add_alert", on_click=add_subscription).mark("add-subscription")

        # ---- channels --------------------------------------------------------------------------------------------
        with ui.card().classes("w-full"):
            ui.label("Channels").classes("text-subtitle1 font-bold")
            ui.label("Shared channels are set up by admins for everyone; personal ones are yours alone.") \
                .classes("text-sm opacity-80")
            channel_message = Message("channel-message")
            channels_table = ui.table(columns=CHANNEL_COLUMNS, rows=[channel_row(c, user) for c in channel_list()],
                                      row_key="id").classes("w-full").mark("channels-table")
            channels_table.props('dense wrap-cells no-data-label="No channels yet."')
            channels_table.add_slot("body-cell-actions", """
                <q-td :props="props">
                  <q-btn flat dense icon="send" label="Send test"
                         @click="() => $parent.$emit('test', props.row.id)" />
                  <q-btn v-if="props.row.can_delete" flat dense color="negative" icon="delete" label="Delete"
                         @click="() => $parent.$emit('delete', props.row.id)" />
                </q-td>""")

            async def test_channel(channel_id: str) -> None:
                name = service.channel_name(channel_id) or "the channel"
                channel_message.ok(f"Sending a test message to {name} …")
                if await act(channel_message, lambda acting: service.test_channel(acting, channel_id),
                             f"Test message delivered to {name}."):
                    ui.notify(f"Test message delivered to {name}", type="positive")

            async def delete_channel(channel_id: str) -> None:
                await act(channel_message, lambda acting: service.delete_channel(acting, channel_id),
                          "Channel deleted.")

            channels_table.on("test", lambda e: test_channel(str(e.args)))
            channels_table.on("delete", lambda e: delete_channel(str(e.args)))

            ui.label("Add a channel").classes("text-sm font-bold mt-2")
            with ui.row().classes("items-start gap-2 w-full"):
                name_input = ui.input("Name").props("maxlength=80").classes("w-56").mark("channel-name")
                url_input = ui.input("Apprise URL", password=True, password_toggle_button=True) \
                    .props("maxlength=2048 autocomplete=off").classes("grow min-w-72").mark("channel-url")
                shared_box = ui.checkbox("Shared (every user can use it)").mark("channel-shared") \
                    if user.is_admin else None
            ui.label(URL_HINT).classes("text-xs opacity-70").mark("channel-url-hint")

            async def add_channel() -> None:
                name, url = name_input.value or "", url_input.value or ""
                shared = bool(shared_box.value) if shared_box is not None else False
                if await act(channel_message,
                             lambda acting: service.create_channel(acting, name, url, shared=shared),
                             f"Channel {name.strip()} added."):
                    url_input.value = ""  # what was typed is never shown back
                    name_input.value = ""

            ui.button("Add channel", icon="add", on_click=add_channel).mark("add-channel")

        # ---- deliveries ------------------------------------------------------------------------------------------
        with ui.card().classes("w-full"):
            with ui.row().classes("w-full items-center"):
                ui.label("Recent deliveries").classes("text-subtitle1 font-bold")
                ui.space()
                ui.button("Refresh", icon="refresh", on_click=lambda: load_deliveries()).props("flat dense") \
                    .mark("refresh-deliveries")
            delivery_message = Message("delivery-message")
            deliveries_table = ui.table(columns=DELIVERY_COLUMNS, rows=[], row_key="id").classes("w-full") \
                .mark("deliveries-table")
            deliveries_table.props('dense wrap-cells no-data-label="No deliveries to your channels yet."')
            deliveries_table.add_slot("body-cell-status", """
                <q-td :props="props">
                  <q-badge :color="props.row.color" :label="props.row.status" />
                </q-td>""")

    loading = False

    async def load_deliveries() -> None:
        nonlocal loading
        if loading or client.is_deleted:
            return
        loading = True
        try:
            found = await deliveries.recent(user, RECENT_DELIVERIES)
        except NotificationError as exc:
            delivery_message.error(exc.message)
            return
        except Exception:
            logger.exception("recent deliveries could not be read")
            delivery_message.error(UNEXPECTED)
            return
        finally:
            loading = False
        delivery_message.clear()
        deliveries_table.rows = [delivery_row(d) for d in found]
        deliveries_table.update()

    def refresh() -> None:
        """Draw the lists again from the service's memory."""
        channels = channel_list()
        channels_table.rows = [channel_row(c, user) for c in channels]
        channels_table.update()
        subscriptions.rows = subscription_rows()
        subscriptions.update()
        options = channel_options(channels)
        channel_select.set_options(options, value=channel_select.value if channel_select.value in options
                                   else CONSOLE_ONLY)

    def on_change(_service: object) -> None:
        """The records changed (this page, another page, the REST API, another console): show them."""
        if not client.is_deleted:
            with client:
                refresh()

    client.on_delete(service.add_listener(on_change))
    ui.timer(DELIVERY_REFRESH_SECONDS, load_deliveries)  # at once, then every few seconds while the page is open
