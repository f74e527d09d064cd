"""Each event reaches real receivers with what it is about: a local webhook (``json://``) and a local SMTP server
(``mailto://``), from a console started in-process against the session's Temporal and release worker."""

from __future__ import annotations

from datetime import timedelta

from release_console.core.links import temporal_workflow_url
from release_console.temporal.releases import report
from tests.helpers import eventually
from tests.integration.notifications.conftest import ADMIN, PUBLIC_URL, new_release, settled
from tests.integration.notifications.receivers import body_text


async def test_a_failed_release_is_told_to_the_webhook_and_by_email(console, webhook, mailbox, writer,
                                                                    unique) -> None:
    service = console.notifications
    hook = await service.create_channel(ADMIN, "hook", webhook.url(), shared=True)
    mail = await service.create_channel(ADMIN, "mail", mailbox.url())
    for channel in (hook, mail):
        await service.create_subscription(ADMIN, f"release:nf-{unique}*", ["release.failed"], channel.id)
    release = await new_release(writer, f"nf-{unique}", apps=4)
    app = f"app:nf-{unique}-w1-c1-a"
    await report(writer, release, [(f"{app}1", "failed"), (f"{app}2", "deployed"), (f"{app}3", "failed")])
    await report(writer, release, [(release, "failed")])

    docs = await eventually(lambda: webhook.delivered("release.failed", release), timeout=20, what="the webhook")
    doc = docs[0]
    assert doc["release"] == release and doc["event"] == "release.failed" and doc["state"] == "failed"
    assert doc["counts"] == {"failed": 2, "done": 3, "total": 4}
    assert doc["failing"] == [f"{app}1", f"{app}3"] and doc["failing_total"] == 2
    assert doc["console_url"] == f"{PUBLIC_URL}/releases/{release}"
    assert doc["temporal_url"] == temporal_workflow_url(console.settings.temporal_ui_url,
                                                        console.settings.TEMPORAL_NAMESPACE, release)
    assert webhook.requests[0].body["title"] == f"[release.failed] {release}"
    assert webhook.requests[0].body["type"] == "failure"

    messages = await eventually(lambda: mailbox.messages, timeout=20, what="the e-mail")
    mail_message = messages[0]
    assert mail_message["To"] == "rm@example.com" and "console@example.com" in mail_message["From"]
    assert mail_message["Subject"] == f"[release.failed] {release}"
    text = body_text(mail_message)
    assert f"{release} failed" in text and "Apps: 2 failed, 3 done of 4." in text
    assert f"Failing: {app}1, {app}3." in text
    assert f"Console: {PUBLIC_URL}/releases/{release}" in text and f"Temporal: {doc['temporal_url']}" in text

    await settled(console)
    assert len(webhook.delivered()) == 1 and len(mailbox.messages) == 1


async def test_completed_and_closed_releases(console, webhook, writer, unique) -> None:
    service = console.notifications
    hook = await service.create_channel(ADMIN, "hook", webhook.url(), shared=True)
    await service.create_subscription(ADMIN, f"release:nc-{unique}*", ["release.completed", "release.closed"],
                                      hook.id)
    done = await new_release(writer, f"nc-{unique}-done", apps=1)
    stopped = await new_release(writer, f"nc-{unique}-stopped", apps=1)
    await report(writer, done, [(f"app:nc-{unique}-done-w1-c1-a1", "deployed")])
    await report(writer, done, [(done, "deployed")])
    await writer.get_workflow_handle(stopped).terminate("operator stopped it", rpc_timeout=timedelta(seconds=5))

    completed = await eventually(lambda: webhook.delivered("release.completed", done), timeout=20,
                                 what="release.completed")
    assert completed[0]["counts"] == {"failed": 0, "done": 1, "total": 1} and completed[0]["status"] == "completed"
    closed = await eventually(lambda: webhook.delivered("release.closed", stopped), timeout=20,
                              what="release.closed")
    assert closed[0]["status"] == "terminated" and "terminated" in closed[0]["summary"]
    await settled(console)
    assert sorted((d["event"], d["release"]) for d in webhook.delivered()) == [
        ("release.closed", stopped), ("release.completed", done)]
