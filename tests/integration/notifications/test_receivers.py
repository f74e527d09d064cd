"""Receivers that fail: one that is down comes back and gets every message once; one that refuses (400) makes a
failed delivery with the reason, not retried; a channel URL's password never reaches a log, the audit file or an
answer."""

from __future__ import annotations

import logging
import secrets

from release_console.runtime.audit import audit_path
from release_console.temporal.releases import report
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, API, eventually, login
from tests.integration.notifications.conftest import ADMIN, new_release, settled


async def _pending_attempts(console, workflow_id: str) -> int:
    """The attempt number of the delivery's send (0 when it is not waiting for one)."""
    description = await console.deliveries.client.get_workflow_handle(workflow_id).describe()
    pending = description.raw_description.pending_activities
    return pending[0].attempt if pending else 0


async def test_a_receiver_that_was_down_gets_every_message_once_it_is_back(console, webhook, writer,
                                                                            unique) -> None:
    service = console.notifications
    hook = await service.create_channel(ADMIN, "hook", webhook.url(), shared=True)
    await service.create_subscription(ADMIN, f"release:nd-{unique}*", ["release.failed"], hook.id)
    webhook.stop()
    releases = [await new_release(writer, f"nd-{unique}-{n}", apps=1) for n in range(3)]
    for release in releases:
        await report(writer, release, [(release, "failed")])

    async def all_retrying() -> bool:  # each delivery's send has failed at least twice: the receiver is down
        started = console.notifier.started_ids()
        return len(started) == 3 and all([await _pending_attempts(console, w) >= 3 for w in started])

    await eventually(all_retrying, timeout=30, step=0.2, what="three deliveries retrying")
    assert webhook.requests == []
    webhook.start()  # the same port again
    await eventually(lambda: len(webhook.delivered()) >= 3, timeout=20, what="the messages after the receiver is back")
    await settled(console)
    assert sorted(d["release"] for d in webhook.delivered()) == sorted(releases)  # each once

    async def listed_as_delivered() -> bool:  # visibility follows the deliveries' ends a moment later
        recent = await console.deliveries.recent(ADMIN)
        return sorted((d.release, d.status) for d in recent) == sorted((r, "delivered") for r in releases)

    await eventually(listed_as_delivered, timeout=10, step=0.5, what="the deliveries listed as delivered")


async def test_a_refused_message_is_a_failed_delivery_with_the_reason(console, webhook, writer, unique) -> None:
    service = console.notifications
    hook = await service.create_channel(ADMIN, "hook", webhook.url(), shared=True)
    await service.create_subscription(ADMIN, f"release:nr-{unique}*", ["release.failed"], hook.id)
    webhook.status = 400
    release = await new_release(writer, f"nr-{unique}", apps=1)
    await report(writer, release, [(release, "failed")])

    async def failed() -> list:
        return [d for d in await console.deliveries.recent(ADMIN) if d.status == "failed"]

    found = await eventually(failed, timeout=30, step=0.3, what="the failed delivery")
    assert found[0].release == release and found[0].event == "release.failed" and found[0].channel_name == "hook"
    assert "400" in (found[0].reason or ""), found[0].reason
    await settled(console)
    assert len(webhook.refused()) == 1 and webhook.delivered() == []  # refused for good: not tried again

    headers = await login(console.http, ADMIN_USERNAME, ADMIN_PASSWORD)
    answer = await console.http.get(f"{API}/notification-deliveries", headers=headers)
    assert answer.status_code == 200, answer.text
    listed = [d for d in answer.json() if d["release"] == release]
    assert [(d["status"], d["event"]) for d in listed] == [("failed", "release.failed")]
    assert "400" in listed[0]["reason"]


async def test_a_channel_password_never_reaches_logs_audit_or_answers(console, webhook, writer, unique,
                                                                       capfd, caplog) -> None:
    """The URL is used (the webhook gets its Basic credentials) through every path that logs: a test message,
    refused attempts (503, retried), a receiver that is down, then delivered."""
    from loguru import logger

    caplog.set_level(logging.DEBUG)  # the standard library's loggers too (the Temporal SDK, urllib3 …), all levels
    password = f"pw-{secrets.token_hex(12)}"
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level=0)  # everything the console logs, TRACE up
    try:
        service = console.notifications
        hook = await service.create_channel(ADMIN, "hook", webhook.url(f"alerts:{password}"), shared=True)
        await service.create_subscription(ADMIN, f"release:np-{unique}*", ["release.failed", "release.closed"],
                                          hook.id)
        await service.test_channel(ADMIN, hook.id)
        webhook.status = 503
        failed = await new_release(writer, f"np-{unique}-f", apps=1)
        await report(writer, failed, [(failed, "failed")])
        await eventually(lambda: len(webhook.refused()) >= 2, timeout=20, what="two refused attempts")
        webhook.status = 200
        webhook.stop()
        closed = await new_release(writer, f"np-{unique}-c", apps=1)
        await writer.get_workflow_handle(closed).terminate("stopped by an operator")

        async def down_twice() -> bool:
            started = console.notifier.started_ids()
            return len(started) == 2 and all([await _pending_attempts(console, w) >= 3 for w in started])

        await eventually(down_twice, timeout=30, step=0.2, what="both deliveries retrying while the receiver is down")
        webhook.start()
        await eventually(lambda: len(webhook.delivered()) == 3, timeout=20, what="the test message and both events")
        await settled(console)
        headers = await login(console.http, ADMIN_USERNAME, ADMIN_PASSWORD)
        answers = [await console.http.get(f"{API}/{path}", headers=headers)
                   for path in ("notification-channels", "notification-deliveries", "subscriptions")]
    finally:
        logger.remove(sink)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert password not in hook.url and hook.url.startswith("json://alerts:")
    assert all(r.authorization and r.authorization.startswith("Basic ") for r in webhook.requests)  # it was used
    output = capfd.readouterr()
    audit = audit_path(console.settings).read_text()
    assert "notifications.channel.create" in audit and "notifications.channel.test" in audit
    assert any("not delivered" in line and "error=503" in line for line in lines), "the refusals were not logged"
    for where, text in (("log", "\n".join(lines)), ("stdout", output.out), ("stderr", output.err),
                        ("standard logging", caplog.text), ("audit file", audit),
                        ("answers", "".join(a.text for a in answers))):
        assert password not in text, f"the channel's password is in the {where}"


async def test_a_delivery_no_console_asked_for_is_refused(console, webhook, unique) -> None:
    """Someone who can start workflows on the console's task queue cannot make it post to a channel."""
    from release_console.workflows.delivery import DeliveryInput, Message, NotificationDelivery

    hook = await console.notifications.create_channel(ADMIN, "hook", webhook.url(), shared=True)
    forged = Message(title="forged", text="not from a console", document={"event": "forged"})
    client = console.deliveries.client
    handle = await client.start_workflow(
        NotificationDelivery.run, DeliveryInput(hook.id, forged, signature="n1:" + "0" * 64),
        id=f"forged-{unique}", task_queue=console.settings.NOTIFICATIONS_TASK_QUEUE)
    assert await handle.result() == "failed"
    memo = await (await handle.describe()).memo()
    assert "signature" in memo["reason"]
    assert webhook.requests == []
