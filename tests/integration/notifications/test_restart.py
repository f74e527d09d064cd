"""A console restart between an event and its delivery loses nothing and sends nothing twice: a delivery started
before the stop is finished by the next console's worker, and an event that happened while no console ran is worked
out at the next start (NOTIFY_CATCH_UP_SECONDS), each told exactly once. Real processes: the session's Temporal and
release worker; the console stopped and started again in this process."""

from __future__ import annotations

from release_console.temporal.releases import report
from tests.helpers import eventually
from tests.integration.notifications.conftest import ADMIN, new_release, running_console, settled
from tests.integration.notifications.test_receivers import _pending_attempts


async def test_events_around_a_restart_are_delivered_once(store, webhook, writer, unique, request) -> None:
    webhook.stop()  # the first console's delivery cannot finish before it stops
    async with running_console(request) as first:
        hook = await first.notifications.create_channel(ADMIN, "hook", webhook.url(), shared=True)
        await first.notifications.create_subscription(ADMIN, f"release:nx-{unique}*", ["release.failed"], hook.id)
        before = await new_release(writer, f"nx-{unique}-before", apps=1)
        await report(writer, before, [(before, "failed")])
        started = await eventually(first.notifier.started_ids, timeout=20, what="the delivery started")

        async def retrying() -> bool:
            return await _pending_attempts(first, started[0]) >= 2

        await eventually(retrying, timeout=20, step=0.2, what="its send to fail once")
    assert webhook.requests == []

    during = await new_release(writer, f"nx-{unique}-during", apps=1)  # fails while no console runs
    await report(writer, during, [(during, "failed")])
    webhook.start()
    async with running_console(request) as second:
        await eventually(lambda: len(webhook.delivered()) >= 2, timeout=30, what="both messages")
        await settled(second)
        assert sorted(d["release"] for d in webhook.delivered()) == sorted([before, during])
        assert second.deliveries.duplicates >= 1  # it worked ``before`` out again: Temporal refused the second start
        assert started[0] in second.notifier.started_ids()
