"""``release.stalled``: a running release without a change for the subscription's ``stalled_after_seconds`` is told
once per quiet spell (NOTIFY_STALLED_MIN_SECONDS is lowered to 1 s in these tests; production's minimum is 60 s)."""

from __future__ import annotations

import pytest

from release_console.notifications.errors import InvalidNotificationInput
from release_console.temporal.releases import report
from tests.helpers import eventually
from tests.integration.notifications.conftest import ADMIN, new_release, settled

STALLED_AFTER = 2


async def test_a_quiet_running_release_is_told_once_per_quiet_spell(console, webhook, writer, unique) -> None:
    service = console.notifications
    done = await new_release(writer, f"ns-{unique}-done", apps=1)
    await report(writer, done, [(done, "deployed")])  # over: never stalled
    await eventually(lambda: (row := console.services.release_list.get(done)) and row.status == "completed",
                     what="the finished release listed as such")
    hook = await service.create_channel(ADMIN, "hook", webhook.url(), shared=True)
    with pytest.raises(InvalidNotificationInput):
        await service.create_subscription(ADMIN, f"release:ns-{unique}*", ["release.stalled"], hook.id,
                                          stalled_after_seconds=0)
    await service.create_subscription(ADMIN, f"release:ns-{unique}*", ["release.stalled"], hook.id,
                                      stalled_after_seconds=STALLED_AFTER)
    quiet = await new_release(writer, f"ns-{unique}-quiet", apps=2)

    first = await eventually(lambda: webhook.delivered("release.stalled"), timeout=20, what="the first stall")
    assert [d["release"] for d in first] == [quiet]
    assert "has not changed for" in first[0]["summary"] and first[0]["state"] == "pending"

    await report(writer, quiet, [(f"app:ns-{unique}-quiet-w1-c1-a1", "deploying")])  # moves, then quiet again
    await eventually(lambda: len(webhook.delivered("release.stalled")) == 2, timeout=20, what="the second stall")
    await settled(console)
    assert [d["release"] for d in webhook.delivered()] == [quiet, quiet]
