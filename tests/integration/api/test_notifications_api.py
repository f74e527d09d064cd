"""The notifications REST API on the real console and Temporal: channels and subscriptions round trip, every
malformed input is a 422 that creates nothing, a channel's URL never comes back (answers, errors, logs, audit),
users never see nor use each other's records, shared channels are made by admins and used by everyone, test
messages reach a real local webhook (or say why not), and recent deliveries are the caller's own."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from release_console import services
from release_console.notifications import service as service_module
from release_console.notifications.deliveries import DeliveryKey
from release_console.runtime import audit
from release_console.temporal.releases import build_plan, start_release
from release_console.workflows.delivery import Message
from tests.conftest import TEST_DATA_DIR
from tests.helpers import ADMIN_USERNAME, eventually, free_port, login, new_user

API = "/api/v1"
CHANNELS = f"{API}/notification-channels"
SUBSCRIPTIONS = f"{API}/subscriptions"
DELIVERIES = f"{API}/notification-deliveries"
PASSWORD = "viewer-password-1"


class Receiver:
    """A local HTTP service (its own thread) that answers every POST with ``status`` and keeps what it got."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.received: list[tuple[str, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((self.path, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="test receiver", daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def documents(self) -> list[dict]:
        """What each POST carried: Apprise's json:// envelope, its ``message`` being the console's JSON document."""
        return [json.loads(body) for _path, body in self.received]


@pytest.fixture
async def api_ready(api) -> AsyncIterator:
    """The console's API once its notification records are loaded (its first query may miss and be retried)."""
    await eventually(lambda: services.running().notifications.loaded.is_set(), timeout=60,
                     what="the notification records loaded")
    yield api


@pytest.fixture
def console_log() -> Iterator[list[str]]:
    """Every line the console logs while the test runs (any level, with its extra fields: audit lines too)."""
    from loguru import logger

    lines: list[str] = []
    handler = logger.add(lambda m: lines.append(str(m)), level="TRACE", format="{level} {message} {extra} {exception}")
    try:
        yield lines
    finally:
        logger.remove(handler)


async def signed_in_user(api, admin_headers: dict[str, str], role: str = "viewer") -> tuple[str, dict[str, str]]:
    name = await new_user(api, admin_headers, role=role, password=PASSWORD)
    return name, await login(api, name, PASSWORD)


async def a_release(client, settings, key: str) -> str:
    plan = build_plan(key, waves=1, clusters_per_wave=1, apps_per_bundle=1)
    await start_release(client, settings, plan)
    return plan.id


async def new_channel(api, headers: dict[str, str], url: str, *, name: str = "hook", shared: bool = False) -> dict:
    created = await api.post(CHANNELS, json={"name": name, "url": url, "shared": shared}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


async def ids(api, path: str, headers: dict[str, str]) -> set[str]:
    listed = await api.get(path, headers=headers)
    assert listed.status_code == 200, listed.text
    return {item["id"] for item in listed.json()}


async def test_channels_and_subscriptions_round_trip(api_ready, admin_headers, client, settings, unique) -> None:
    api = api_ready
    name, headers = await signed_in_user(api, admin_headers)
    release = await a_release(client, settings, f"notify-{unique}")
    channel = await new_channel(api, headers, "json://hooks.example.com/release-console", name="my <hook>")
    assert {k: channel[k] for k in ("name", "scope", "owner", "kind", "url", "created_by")} == {
        "name": "my <hook>", "scope": "personal", "owner": name, "kind": "json",
        "url": "json://hooks.example.com/…", "created_by": name}
    assert channel["id"] in await ids(api, CHANNELS, headers)

    exact = await api.post(SUBSCRIPTIONS, json={"release": release, "events": ["release.completed", "release.failed"],
                                                "channel": channel["id"], "stalled_after_seconds": 3600},
                           headers=headers)
    assert exact.status_code == 201, exact.text
    assert {k: exact.json()[k] for k in ("owner", "release", "events", "channel", "channel_name",
                                         "stalled_after_seconds")} == {
        "owner": name, "release": release, "events": ["release.failed", "release.completed"],
        "channel": channel["id"], "channel_name": "my <hook>", "stalled_after_seconds": 3600}
    everything = await api.post(SUBSCRIPTIONS, json={"release": "*", "events": ["release.stalled"]}, headers=headers)
    prefix = await api.post(SUBSCRIPTIONS, json={"release": f"release:notify-{unique[:4]}*", "events": ["app.failed"],
                                                 "channel": None}, headers=headers)
    assert everything.status_code == 201 and everything.json()["channel"] is None, everything.text
    assert prefix.status_code == 201 and prefix.json()["release"] == f"release:notify-{unique[:4]}*", prefix.text
    made = {exact.json()["id"], everything.json()["id"], prefix.json()["id"]}
    assert await ids(api, SUBSCRIPTIONS, headers) == made

    in_use = await api.delete(f"{CHANNELS}/{channel['id']}", headers=headers)
    assert in_use.status_code == 409 and in_use.json()["code"] == "channel_in_use", in_use.text
    assert channel["id"] in await ids(api, CHANNELS, headers)

    assert (await api.delete(f"{SUBSCRIPTIONS}/{exact.json()['id']}", headers=headers)).status_code == 204
    assert (await api.delete(f"{SUBSCRIPTIONS}/{exact.json()['id']}", headers=headers)).status_code == 404
    assert await ids(api, SUBSCRIPTIONS, headers) == made - {exact.json()["id"]}
    assert (await api.delete(f"{CHANNELS}/{channel['id']}", headers=headers)).status_code == 204
    assert channel["id"] not in await ids(api, CHANNELS, headers)
    gone = await api.delete(f"{CHANNELS}/{channel['id']}", headers=headers)
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    for left in made - {exact.json()["id"]}:
        assert (await api.delete(f"{SUBSCRIPTIONS}/{left}", headers=headers)).status_code == 204
    assert await ids(api, SUBSCRIPTIONS, headers) == set()


async def test_unusable_channel_urls_are_refused_clearly_and_create_nothing(api_ready, admin_headers,
                                                                           unique) -> None:
    api = api_ready
    _, headers = await signed_in_user(api, admin_headers)
    secret = f"s3cret{unique}"
    refused: list[tuple[object, str]] = [
        (f"garbage {secret}", "one line"),
        (f"hooks.example.com/{secret}", "scheme"),
        (f"user:{secret}@hooks.example.com://x", "scheme"),  # credentials where the scheme goes: never named back
        (f"nosuchservice://hooks.example.com/{secret}", "'nosuchservice' is not allowed"),
        (f"file:///etc/{secret}", "'file' is not allowed"),
        ("windows://", "'windows' is not allowed"),
        ("json://", "Apprise cannot use"),
        ("", "at least 1 character"),
        ("   ", "non-empty"),
        (f"json://user:{secret}@127.0.0.1/" + "a" * 2100, "at most 2048 characters"),
        (12345, "valid string"),
        (None, "valid string"),
        (True, "valid string"),
        ([f"json://user:{secret}@127.0.0.1/x"], "valid string"),
        ({"url": f"json://user:{secret}@127.0.0.1/x"}, "valid string"),
    ]
    for url, says in refused:
        answer = await api.post(CHANNELS, json={"name": "bad", "url": url}, headers=headers)
        assert answer.status_code == 422, (url, answer.text)
        body = answer.json()
        assert body["code"] in ("invalid_input", "invalid_parameter") and "url" in body["detail"].lower(), body
        assert says in body["detail"], (url, body)
        assert secret not in answer.text, answer.text
    for bad_body in ({"name": "x", "url": f"json://u:{secret}@127.0.0.1/x", "token": "extra"},
                     {"name": "", "url": f"json://u:{secret}@127.0.0.1/x"},
                     {"name": "x" * 81, "url": f"json://u:{secret}@127.0.0.1/x"},
                     {"name": "x", "url": f"json://u:{secret}@127.0.0.1/x", "shared": "yes"},
                     {"url": f"json://u:{secret}@127.0.0.1/x"}):
        answer = await api.post(CHANNELS, json=bad_body, headers=headers)
        assert answer.status_code == 422, (bad_body, answer.text)
        assert secret not in answer.text, answer.text
    not_json = await api.post(CHANNELS, content=f'{{"name": "x", "url": "json://u:{secret}@h/x"', headers={
        **headers, "Content-Type": "application/json"})
    assert not_json.status_code == 422 and secret not in not_json.text, not_json.text
    listed = (await api.get(CHANNELS, headers=headers)).json()
    assert [c for c in listed if c["scope"] == "personal"] == []


async def test_a_channel_url_never_appears_in_answers_logs_or_audit(api_ready, admin_headers, unique,
                                                                   console_log) -> None:
    api = api_ready
    _, headers = await signed_in_user(api, admin_headers)
    password, token = f"s3cretpass{unique}", f"tok3n{unique}"
    with Receiver(400) as receiver:
        url = f"json://user:{password}@127.0.0.1:{receiver.port}/hook/{token}"
        created = await api.post(CHANNELS, json={"name": "secret hook", "url": url}, headers=headers)
        assert created.status_code == 201, created.text
        assert created.json()["url"] == f"json://user:****@127.0.0.1:{receiver.port}/…"
        listed = await api.get(CHANNELS, headers=headers)
        sub = await api.post(SUBSCRIPTIONS, json={"release": "*", "events": ["release.failed"],
                                                  "channel": created.json()["id"]}, headers=headers)
        subs = await api.get(SUBSCRIPTIONS, headers=headers)
        tested = await api.post(f"{CHANNELS}/{created.json()['id']}/test", headers=headers)
        assert tested.status_code == 502 and receiver.received, tested.text  # it was sent, to the real URL
        assert receiver.received[0][0] == f"/hook/{token}"
    answers = [created, listed, sub, subs, tested]
    for answer in answers:
        assert password not in answer.text and token not in answer.text, answer.text
    audit.flush()
    audit_file = audit.audit_path(services.running().settings)
    assert '"notifications.channel.create"' in audit_file.read_text(encoding="utf-8")  # the lines are there
    for path in sorted(p for p in TEST_DATA_DIR.rglob("*") if p.is_file()):  # the audit file, the logs, the rest
        data = path.read_bytes()
        assert password.encode() not in data and token.encode() not in data, path
    assert any("notifications.channel.test" in line for line in console_log)  # the sink saw the audit lines
    assert not [line for line in console_log if password in line or token in line]
    # leave no "*" subscription that later failures of the session would be delivered to
    assert (await api.delete(f"{SUBSCRIPTIONS}/{sub.json()['id']}", headers=headers)).status_code == 204


async def test_subscriptions_name_a_real_release_and_known_events(api_ready, admin_headers, client, settings,
                                                                 unique) -> None:
    api = api_ready
    _, headers = await signed_in_user(api, admin_headers)
    release = await a_release(client, settings, f"notify-{unique}")
    unknown = await api.post(SUBSCRIPTIONS, json={"release": f"release:nowhere-{unique}", "events": ["release.failed"]},
                             headers=headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found", unknown.text
    for body, code in (
        ({"release": "app:not-a-release", "events": ["release.failed"]}, "invalid_input"),
        ({"release": "release:has space", "events": ["release.failed"]}, "invalid_input"),
        ({"release": "release:bad/*", "events": ["release.failed"]}, "invalid_input"),
        ({"release": release, "events": ["release.exploded"]}, "invalid_input"),
        ({"release": release, "events": ["release.failed"], "stalled_after_seconds": 5}, "invalid_input"),
        ({"release": release, "events": []}, "invalid_parameter"),
        ({"release": release, "events": "release.failed"}, "invalid_parameter"),
        ({"release": release, "events": ["release.failed"], "stalled_after_seconds": "3600"}, "invalid_parameter"),
        ({"release": release, "events": ["release.failed"], "extra": 1}, "invalid_parameter"),
        ({"release": "x" * 500, "events": ["release.failed"]}, "invalid_parameter"),
        ({"events": ["release.failed"]}, "invalid_parameter"),
    ):
        answer = await api.post(SUBSCRIPTIONS, json=body, headers=headers)
        assert answer.status_code == 422 and answer.json()["code"] == code, (body, answer.text)
    no_channel = await api.post(SUBSCRIPTIONS, json={"release": release, "events": ["release.failed"],
                                                     "channel": "0123456789abcdef"}, headers=headers)
    assert no_channel.status_code == 404, no_channel.text
    assert await ids(api, SUBSCRIPTIONS, headers) == set()
    unknown_event = await api.post(SUBSCRIPTIONS, json={"release": release, "events": ["release.exploded"]},
                                   headers=headers)
    assert "release.completed" in unknown_event.json()["detail"]  # the answer lists the events there are


async def test_users_never_see_nor_use_each_others_records(api_ready, admin_headers, client, settings,
                                                          unique) -> None:
    api = api_ready
    _, alice = await signed_in_user(api, admin_headers)
    _, bob = await signed_in_user(api, admin_headers)
    release = await a_release(client, settings, f"notify-{unique}")
    channel = await new_channel(api, alice, "json://hooks.example.com/alice")
    sub = await api.post(SUBSCRIPTIONS, json={"release": release, "events": ["release.failed"],
                                              "channel": channel["id"]}, headers=alice)
    assert sub.status_code == 201, sub.text
    sub_id = sub.json()["id"]

    assert channel["id"] not in await ids(api, CHANNELS, bob)
    assert channel["id"] not in await ids(api, CHANNELS, admin_headers)  # personal means personal, admins too
    assert sub_id not in await ids(api, SUBSCRIPTIONS, bob)
    for answer in (
        await api.delete(f"{CHANNELS}/{channel['id']}", headers=bob),
        await api.post(f"{CHANNELS}/{channel['id']}/test", headers=bob),
        await api.post(SUBSCRIPTIONS, json={"release": release, "events": ["release.failed"],
                                            "channel": channel["id"]}, headers=bob),
        await api.delete(f"{SUBSCRIPTIONS}/{sub_id}", headers=bob),
        await api.delete(f"{SUBSCRIPTIONS}/{sub_id}", headers=admin_headers),
    ):
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", answer.text
    assert await ids(api, SUBSCRIPTIONS, bob) == set()
    assert channel["id"] in await ids(api, CHANNELS, alice)
    assert await ids(api, SUBSCRIPTIONS, alice) == {sub_id}
    assert (await api.delete(f"{SUBSCRIPTIONS}/{sub_id}", headers=alice)).status_code == 204
    assert (await api.delete(f"{CHANNELS}/{channel['id']}", headers=alice)).status_code == 204


async def test_shared_channels_are_made_by_admins_and_used_by_everyone(api_ready, admin_headers, client, settings,
                                                                      unique) -> None:
    api = api_ready
    viewer, headers = await signed_in_user(api, admin_headers)
    release = await a_release(client, settings, f"notify-{unique}")
    refused = await api.post(CHANNELS, json={"name": "team", "url": "json://hooks.example.com/team", "shared": True},
                             headers=headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden", refused.text
    assert [c for c in (await api.get(CHANNELS, headers=headers)).json() if c["created_by"] == viewer] == []

    shared = await new_channel(api, admin_headers, "json://hooks.example.com/team", name=f"team {unique}", shared=True)
    assert shared["scope"] == "shared" and shared["owner"] is None and shared["created_by"] == ADMIN_USERNAME
    assert shared["id"] in await ids(api, CHANNELS, headers)
    sub = await api.post(SUBSCRIPTIONS, json={"release": release, "events": ["release.completed"],
                                              "channel": shared["id"]}, headers=headers)
    assert sub.status_code == 201 and sub.json()["channel_name"] == f"team {unique}", sub.text
    not_theirs = await api.delete(f"{CHANNELS}/{shared['id']}", headers=headers)
    assert not_theirs.status_code == 403, not_theirs.text
    in_use = await api.delete(f"{CHANNELS}/{shared['id']}", headers=admin_headers)
    assert in_use.status_code == 409 and in_use.json()["code"] == "channel_in_use", in_use.text
    assert (await api.delete(f"{SUBSCRIPTIONS}/{sub.json()['id']}", headers=headers)).status_code == 204
    assert (await api.delete(f"{CHANNELS}/{shared['id']}", headers=admin_headers)).status_code == 204
    assert shared["id"] not in await ids(api, CHANNELS, headers)


async def test_a_test_message_reaches_a_local_webhook_once(api_ready, admin_headers, monkeypatch) -> None:
    api = api_ready
    name, headers = await signed_in_user(api, admin_headers)
    monkeypatch.setattr(service_module, "TEST_SEND_EVERY_SECONDS", 3600.0)  # "again" is then never too late
    with Receiver(200) as receiver:
        channel = await new_channel(api, headers, f"json://127.0.0.1:{receiver.port}/hook", name="local hook")
        sent = await api.post(f"{CHANNELS}/{channel['id']}/test", headers=headers)
        assert sent.status_code == 204, sent.text
        assert [path for path, _ in receiver.received] == ["/hook"]
        envelope = receiver.documents()[0]
        assert envelope["title"] == "Release Console: test message"
        assert json.loads(envelope["message"]) == {"event": "test", "channel": "local hook", "sent_by": name}
        again = await api.post(f"{CHANNELS}/{channel['id']}/test", headers=headers)
        assert again.status_code == 409, again.text
        assert len(receiver.received) == 1
    assert (await api.delete(f"{CHANNELS}/{channel['id']}", headers=headers)).status_code == 204


async def test_a_refused_test_message_answers_502_with_the_reason(api_ready, admin_headers) -> None:
    api = api_ready
    _, headers = await signed_in_user(api, admin_headers)
    with Receiver(400) as receiver:
        channel = await new_channel(api, headers, f"json://127.0.0.1:{receiver.port}/refuses")
        refused = await api.post(f"{CHANNELS}/{channel['id']}/test", headers=headers)
        assert len(receiver.received) == 1
    assert refused.status_code == 502, refused.text
    body = refused.json()
    assert body["code"] == "test_send_failed" and "not delivered" in body["detail"] and "400" in body["detail"], body
    assert "refuses" not in body["detail"]  # the path of the URL is not told


async def test_api_keys_read_notification_settings_but_do_not_change_them(api_ready, admin_headers) -> None:
    api = api_ready
    _, headers = await signed_in_user(api, admin_headers)
    channel = await new_channel(api, headers, "json://hooks.example.com/keyed")
    sub = (await api.post(SUBSCRIPTIONS, json={"release": "*", "events": ["release.failed"],
                                               "channel": channel["id"]}, headers=headers)).json()
    key = (await api.post(f"{API}/api-keys", json={"name": "script"}, headers=headers)).json()["key"]
    with_key = {"Authorization": f"Bearer {key}"}
    assert await ids(api, CHANNELS, with_key) >= {channel["id"]}
    assert await ids(api, SUBSCRIPTIONS, with_key) == {sub["id"]}
    assert (await api.get(DELIVERIES, headers=with_key)).status_code == 200
    for answer in (
        await api.post(CHANNELS, json={"name": "x", "url": "json://hooks.example.com/x"}, headers=with_key),
        await api.delete(f"{CHANNELS}/{channel['id']}", headers=with_key),
        await api.post(f"{CHANNELS}/{channel['id']}/test", headers=with_key),
        await api.post(SUBSCRIPTIONS, json={"release": "*", "events": ["release.failed"]}, headers=with_key),
        await api.delete(f"{SUBSCRIPTIONS}/{sub['id']}", headers=with_key),
    ):
        assert answer.status_code == 403 and "API key" in answer.json()["detail"], answer.text
    assert await ids(api, SUBSCRIPTIONS, headers) == {sub["id"]}
    assert {c["id"] for c in (await api.get(CHANNELS, headers=headers)).json() if c["scope"] == "personal"} == {
        channel["id"]}
    assert (await api.delete(f"{SUBSCRIPTIONS}/{sub['id']}", headers=headers)).status_code == 204  # none left behind


async def test_recent_deliveries_are_the_callers_own(api_ready, admin_headers, client, settings, unique) -> None:
    api = api_ready
    _, alice = await signed_in_user(api, admin_headers)
    _, bob = await signed_in_user(api, admin_headers)
    release = await a_release(client, settings, f"notify-{unique}")
    for limit in (0, 201, "many"):
        assert (await api.get(DELIVERIES, params={"limit": limit}, headers=alice)).status_code == 422
    with Receiver(200) as receiver:
        channel = await new_channel(api, alice, f"json://127.0.0.1:{receiver.port}/deliveries", name="alice's")
        key = DeliveryKey(channel["id"], release, "run", "release.completed", unique)
        message = Message(title=f"{release} completed", text="done", document={"release": release})
        assert await services.running().deliveries.start(key, message)

        async def delivered() -> list[dict]:
            listed = await api.get(DELIVERIES, params={"limit": 200}, headers=alice)
            assert listed.status_code == 200, listed.text
            return [d for d in listed.json() if d["id"] == key.workflow_id and d["status"] == "delivered"]

        found = (await eventually(delivered, timeout=60, step=0.5, what="the delivery listed as delivered"))[0]
        assert json.loads(receiver.documents()[0]["message"]) == {"release": release}
    assert {k: found[k] for k in ("release", "event", "channel", "channel_name", "reason")} == {
        "release": release, "event": "release.completed", "channel": channel["id"], "channel_name": "alice's",
        "reason": None}
    bobs = await api.get(DELIVERIES, params={"limit": 200}, headers=bob)
    assert bobs.status_code == 200 and key.workflow_id not in {d["id"] for d in bobs.json()}
