"""The Notifications page and the release page's Watch switch (NiceGUI's ``user`` fixture, the session's Temporal and
worker, the console's own notifications worker): what the page lists is what the service holds for the signed-in
user, channels are added masked (the typed URL never shown back), refusals are shown as the service words them,
subscriptions are added and deleted, and the Watch switch subscribes to exactly its release."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console import services as services_module
from release_console.accounts.models import Principal
from release_console.core.config import Settings
from release_console.notifications.deliveries import DeliveryKey
from release_console.notifications.models import EVENTS
from release_console.notifications.service import NotificationsService
from release_console.workflows.delivery import Message
from tests.helpers import eventually, free_port
from tests.integration.ui.helpers import accounts, login, new_viewer, see, start

PASSWORD = "viewer-password-1"


@dataclass
class Webhook:
    """A JSON webhook receiver on 127.0.0.1 (what a json:// channel posts to)."""

    port: int
    documents: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/gone"):  # a hook that was removed: refused for good
                self.send_response(404)
            else:
                receiver.documents.append(json.loads(raw or b"{}"))
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def notifications() -> NotificationsService:
    """The console's notifications service, once it has loaded its records."""
    running = await services_module.wait_until_started(30)
    assert running is not None and running.notifications is not None
    await asyncio.wait_for(running.notifications.loaded.wait(), 30)
    return running.notifications


def principal(username: str) -> Principal:
    found = accounts().principal(username)
    assert found is not None
    return found


async def signed_in_viewer(user: User, path: str) -> tuple[str, NotificationsService]:
    """A fresh viewer, signed in on ``path``, and the loaded service."""
    service = await notifications()
    name = await new_viewer(PASSWORD)
    await login(user, path, name, PASSWORD)
    return name, service


def rows(user: User, marker: str) -> list[dict[str, Any]]:
    [table] = list(user.find(marker=marker).elements)
    assert isinstance(table, ui.table)
    return list(table.rows)


def message(user: User, marker: str) -> str:
    [label] = list(user.find(marker=marker).elements)
    return str(label.text)


def page_shows(user: User, text: str) -> bool:
    """Whether anything the page holds for the browser (texts, props, table rows, input values) contains ``text``."""
    assert user.client is not None
    for element in list(user.client.elements.values()):
        if text in str(getattr(element, "text", "")) or text in str(element.props):
            return True
        if isinstance(element, ui.table) and text in str(element.rows):
            return True
        if text in str(getattr(element, "value", "")):
            return True
    return False


async def test_the_page_lists_what_the_service_holds_for_the_user(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    service = await notifications()
    release_id = await start(client, settings, f"np-{unique}", waves=1, clusters=1, apps=1)
    name = await new_viewer(PASSWORD)
    viewer = principal(name)
    secret = f"secret-{uuid.uuid4().hex}"
    personal = await service.create_channel(viewer, "my hook", f"json://127.0.0.1:{free_port()}/{secret}")
    shared = await service.create_channel(principal("admin"), f"team hook {unique}",
                                          f"json://127.0.0.1:{free_port()}/{secret}", shared=True)
    everything = await service.create_subscription(viewer, "*", ["release.failed"], personal.id)
    exact = await service.create_subscription(viewer, release_id, ["app.failed", "wave.failed"], None)

    try:
        await login(user, "/notifications", name, PASSWORD)
        await see(user, marker="channels-table")
        channels = {row["id"]: row for row in rows(user, "channels-table")}
        assert (channels[personal.id]["name"], channels[personal.id]["scope"], channels[personal.id]["kind"]) == (
            "my hook", "personal", "json")
        assert channels[personal.id]["url"] == personal.url and channels[personal.id]["can_delete"]
        assert channels[shared.id]["scope"] == "shared" and not channels[shared.id]["can_delete"]  # a viewer's view
        assert set(channels) == {c.id for c in service.list_channels(viewer)}
        subscriptions = {row["id"]: row for row in rows(user, "subscriptions-table")}
        assert set(subscriptions) == {everything.id, exact.id}
        assert (subscriptions[everything.id]["release"], subscriptions[everything.id]["events"],
                subscriptions[everything.id]["channel"]) == ("*", "release.failed", "my hook")
        assert (subscriptions[exact.id]["release"], subscriptions[exact.id]["events"],
                subscriptions[exact.id]["channel"]) == (release_id, "wave.failed, app.failed", "this console only")
        assert not page_shows(user, secret)  # masked: the path (where webhooks keep their tokens) is not shown
        await see(user, "json://")  # the hint of the URL forms
        for scheme in ("mailto://", "slack://", "msteams://"):
            assert page_shows(user, scheme)
        await user.open("/")  # the ⋮ menu of every page links here
        user.find(marker="notifications-link").click()
        await see(user, marker="subscriptions-table")
    finally:  # leave nothing that later failures of the session would be delivered to (or shown to others)
        await service.delete_subscription(viewer, everything.id)
        await service.delete_channel(principal("admin"), shared.id)


async def test_an_admin_adds_and_deletes_a_shared_channel(user: User) -> None:
    service = await notifications()
    await login(user, "/notifications")
    await see(user, marker="channel-shared")
    name = f"shared {uuid.uuid4().hex[:8]}"
    user.find(marker="channel-name").type(name)
    user.find(marker="channel-url").type(f"json://127.0.0.1:{free_port()}/hook")
    user.find(marker="channel-shared").click()
    user.find(marker="add-channel").click()
    [created] = await eventually(lambda: [c for c in service.channels.values() if c.name == name], what="it")
    assert created.owner is None
    await eventually(lambda: created.id in {r["id"] for r in rows(user, "channels-table")}, what="its row")
    [row] = [r for r in rows(user, "channels-table") if r["id"] == created.id]
    assert (row["scope"], row["can_delete"]) == ("shared", True)
    user.find(marker="channels-table").trigger("delete", created.id)
    await eventually(lambda: created.id not in service.channels, what="the shared channel deleted")
    await eventually(lambda: created.id not in {r["id"] for r in rows(user, "channels-table")}, what="its row gone")


async def test_a_personal_channel_added_on_the_page_is_shown_masked_and_the_url_is_not_shown_back(
    user: User, webhook: Webhook
) -> None:
    name, service = await signed_in_viewer(user, "/notifications")
    await see(user, marker="add-channel")
    await user.should_not_see(marker="channel-shared")  # only admins add shared channels
    secret = f"token-{uuid.uuid4().hex}"
    user.find(marker="channel-name").type("pager hook")
    user.find(marker="channel-url").type(webhook.url(secret))
    user.find(marker="add-channel").click()
    [created] = await eventually(lambda: [c for c in service.list_channels(principal(name)) if c.scope == "personal"],
                                 what="the personal channel")
    assert created.name == "pager hook" and created.owner == name and created.kind == "json"
    await eventually(lambda: created.id in {row["id"] for row in rows(user, "channels-table")}, what="its row")
    [row] = [row for row in rows(user, "channels-table") if row["id"] == created.id]
    assert row["url"] == f"json://127.0.0.1:{webhook.port}/…"
    assert "added" in message(user, "channel-message")
    assert not page_shows(user, secret)  # neither in the table nor back in the URL field
    [url_field] = list(user.find(marker="channel-url").elements)
    assert url_field.value == ""
    assert created.id in (user.find(marker="subscription-channel").elements.pop().options)  # a choice now

    user.find(marker="channels-table").trigger("test", created.id)  # "Send test"
    await eventually(lambda: "delivered" in message(user, "channel-message"), what="the test's outcome")
    [posted] = webhook.documents  # Apprise's JSON envelope around the console's document
    assert posted["title"] == "Release Console: test message"
    assert json.loads(posted["message"]) == {"event": "test", "channel": "pager hook", "sent_by": name}


async def test_a_test_send_that_fails_shows_the_services_reason(user: User) -> None:
    name, service = await signed_in_viewer(user, "/notifications")
    nobody = free_port()  # nothing listens there
    channel = await service.create_channel(principal(name), "dead hook", f"json://127.0.0.1:{nobody}/hook")
    await eventually(lambda: channel.id in {row["id"] for row in rows(user, "channels-table")}, what="its row")
    user.find(marker="channels-table").trigger("test", channel.id)
    await eventually(lambda: "not delivered" in message(user, "channel-message"), what="the refusal")
    [label] = list(user.find(marker="channel-message").elements)
    assert "text-negative" in label.classes
    assert "Traceback" not in message(user, "channel-message")


async def test_a_bad_url_shows_a_clear_error_and_creates_nothing(user: User) -> None:
    name, service = await signed_in_viewer(user, "/notifications")
    await see(user, marker="add-channel")
    before = len(service.channels)
    user.find(marker="channel-name").type("bad")
    user.find(marker="channel-url").type("file:///etc/passwd")
    user.find(marker="add-channel").click()
    await eventually(lambda: "not allowed" in message(user, "channel-message"), what="the refusal")
    shown = message(user, "channel-message")
    assert "scheme 'file'" in shown and "json" in shown and "/etc/passwd" not in shown
    assert len(service.channels) == before
    assert not [c for c in service.list_channels(principal(name)) if c.scope == "personal"]
    [url_field] = list(user.find(marker="channel-url").elements)
    assert url_field.value == "file:///etc/passwd"  # kept to be corrected: nothing was saved
    assert rows(user, "channels-table") == [row for row in rows(user, "channels-table") if row["scope"] == "shared"]


async def test_adding_and_deleting_a_subscription(user: User, client: Client, settings: Settings, unique: str) -> None:
    release_id = await start(client, settings, f"ns-{unique}", waves=1, clusters=1, apps=1)
    name, service = await signed_in_viewer(user, "/notifications")
    viewer = principal(name)
    channel = await service.create_channel(viewer, "ops hook", f"json://127.0.0.1:{free_port()}/hook")
    await eventually(lambda: channel.id in user.find(marker="subscription-channel").elements.pop().options,
                     what="the new channel among the choices")
    user.find(marker="subscription-release").type(release_id)
    user.find(marker="event release.completed").click()  # on, besides the two failure events checked already
    user.find(marker="event app.failed").click()  # off
    with user:
        user.find(marker="subscription-channel").elements.pop().value = channel.id
    user.find(marker="add-subscription").click()
    [created] = await eventually(lambda: service.list_subscriptions(viewer), what="the subscription")
    assert (created.release, created.events, created.channel) == (
        release_id, ["release.failed", "release.completed"], channel.id)
    await eventually(lambda: [r["id"] for r in rows(user, "subscriptions-table")] == [created.id], what="its row")
    [row] = rows(user, "subscriptions-table")
    assert (row["release"], row["channel"]) == (release_id, "ops hook")

    # a prefix on this console only; then an unknown release, refused with the service's words
    user.find(marker="subscription-release").type(f"release:ns-{unique[:4]}*")
    with user:
        user.find(marker="subscription-channel").elements.pop().value = "console"
    user.find(marker="add-subscription").click()
    await eventually(lambda: len(service.list_subscriptions(viewer)) == 2, what="the second subscription")
    [prefix] = [s for s in service.list_subscriptions(viewer) if s.id != created.id]
    assert prefix.release == f"release:ns-{unique[:4]}*" and prefix.channel is None
    user.find(marker="subscription-release").type(f"release:missing-{unique}")
    user.find(marker="add-subscription").click()
    await eventually(lambda: "not found" in message(user, "subscription-message"), what="the refusal")
    assert len(service.list_subscriptions(viewer)) == 2

    user.find(marker="channels-table").trigger("delete", channel.id)  # still used: refused, and said why
    await eventually(lambda: "delete them first" in message(user, "channel-message"), what="the in-use refusal")
    user.find(marker="subscriptions-table").trigger("delete", created.id)
    await eventually(lambda: [s.id for s in service.list_subscriptions(viewer)] == [prefix.id], what="the deletion")
    await eventually(lambda: [r["id"] for r in rows(user, "subscriptions-table")] == [prefix.id], what="the row gone")
    user.find(marker="channels-table").trigger("delete", channel.id)
    await eventually(lambda: channel.id not in {c.id for c in service.list_channels(viewer)},
                     what="the channel deleted")
    await eventually(lambda: channel.id not in {r["id"] for r in rows(user, "channels-table")}, what="its row gone")


async def test_another_users_page_does_not_show_the_first_users_personal_channel(user: User) -> None:
    service = await notifications()
    first = await new_viewer(PASSWORD)
    theirs = await service.create_channel(principal(first), f"private of {first}",
                                          f"json://127.0.0.1:{free_port()}/hook")
    everything = await service.create_subscription(principal(first), "*", ["release.failed"], theirs.id)
    try:
        second, _ = await signed_in_viewer(user, "/notifications")
        mine = await service.create_channel(principal(second), "mine", f"json://127.0.0.1:{free_port()}/hook")
        await eventually(lambda: mine.id in {row["id"] for row in rows(user, "channels-table")}, what="my channel")
        shown = {row["id"] for row in rows(user, "channels-table")}
        assert theirs.id not in shown
        assert not page_shows(user, f"private of {first}")
        assert rows(user, "subscriptions-table") == []
        assert theirs.id not in user.find(marker="subscription-channel").elements.pop().options
    finally:  # a "*" subscription left behind would get a delivery for every later failure of the session
        await service.delete_subscription(principal(first), everything.id)


async def test_the_watch_switch_subscribes_to_exactly_this_release(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"nw-{unique}", waves=1, clusters=1, apps=2)
    name, service = await signed_in_viewer(user, f"/releases/{release_id}")
    viewer = principal(name)
    await see(user, marker="watch-toggle")
    [switch] = list(user.find(marker="watch-toggle").elements)
    assert switch.value is False

    user.find(marker="watch-toggle").click()  # on, without a personal channel: this console only
    watched = await eventually(lambda: service.watching(viewer, release_id), what="the subscription")
    assert (watched.release, watched.events, watched.channel) == (release_id, list(EVENTS), None)
    await eventually(lambda: switch.enabled and switch.value, what="the switch to settle on")
    user.find(marker="watch-toggle").click()  # off
    await eventually(lambda: service.watching(viewer, release_id) is None, what="the subscription deleted")
    assert service.list_subscriptions(viewer) == []
    await eventually(lambda: switch.enabled and not switch.value, what="the switch to settle off")

    first = await service.create_channel(viewer, "a first", f"json://127.0.0.1:{free_port()}/a")
    await service.create_channel(viewer, "b second", f"json://127.0.0.1:{free_port()}/b")
    user.find(marker="watch-toggle").click()  # on again: the first (oldest, then by name) personal channel
    watched = await eventually(lambda: service.watching(viewer, release_id), what="the subscription")
    assert watched.channel == first.id and watched.events == list(EVENTS)

    await user.open(f"/releases/{release_id}")  # drawn again: the switch shows the subscription
    await see(user, marker="watch-toggle")
    [switch] = list(user.find(marker="watch-toggle").elements)
    assert switch.value is True
    await user.open("/notifications")
    await see(user, marker="subscriptions-table")
    assert [(r["release"], r["channel"]) for r in rows(user, "subscriptions-table")] == [(release_id, "a first")]


async def test_recent_deliveries_show_their_status_and_reason(user: User, webhook: Webhook, unique: str) -> None:
    name, service = await signed_in_viewer(user, "/notifications")
    viewer = principal(name)
    good = await service.create_channel(viewer, "good hook", webhook.url("ok"))
    gone = await service.create_channel(viewer, "gone hook", webhook.url("gone"))
    release_id = f"release:nd-{unique}"
    deliveries = services_module.running().deliveries
    for channel in (good, gone):
        key = DeliveryKey(channel.id, release_id, "run-1", "release.failed", "0")
        told = Message(title=f"{release_id} failed", text="it failed", document={"event": "release.failed"},
                       failure=True)
        assert await deliveries.start(key, told)

    def statuses() -> dict[str, tuple[str, str]]:
        user.find(marker="refresh-deliveries").click()  # what the page also does every few seconds
        return {row["channel"]: (row["status"], row["reason"]) for row in rows(user, "deliveries-table")
                if row["release"] == release_id}

    await eventually(lambda: {status for status, _ in statuses().values()} == {"delivered", "failed"},
                     timeout=30, step=0.5, what="both deliveries to finish")
    shown = statuses()
    assert shown["good hook"] == ("delivered", "")
    assert shown["gone hook"][0] == "failed" and "404" in shown["gone hook"][1]
    assert [json.loads(d["message"]) for d in webhook.documents] == [{"event": "release.failed"}]
    assert message(user, "delivery-message") == ""
