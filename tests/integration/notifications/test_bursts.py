"""Failures below a release: 50 apps failing one after another make one first message and one follow-up summary
(not 50), per event; ``wave.failed`` does the same per wave (NOTIFY_BURST_SECONDS is 3 s in these tests)."""

from __future__ import annotations

from release_console.temporal.releases import report
from tests.helpers import eventually
from tests.integration.notifications.conftest import ADMIN, new_release, settled


async def test_fifty_failing_apps_make_a_first_message_and_one_summary(console, webhook, writer, unique) -> None:
    service = console.notifications
    hook = await service.create_channel(ADMIN, "hook", webhook.url(), shared=True)
    await service.create_subscription(ADMIN, f"release:nb-{unique}*", ["app.failed", "wave.failed"], hook.id)
    release = await new_release(writer, f"nb-{unique}", waves=2, clusters=5, apps=5)  # 50 apps, 25 per wave
    apps = [f"app:nb-{unique}-w{w}-c{c}-a{a}" for w in (1, 2) for c in range(1, 6) for a in range(1, 6)]
    await report(writer, release, [(apps[0], "failed")])
    await report(writer, release, [(app, "failed") for app in apps[1:]])  # right after: the same burst

    def follow_ups(event: str) -> list[dict]:
        return [d for d in webhook.delivered(event, release) if d["follow_up"]]

    await eventually(lambda: follow_ups("app.failed"), timeout=30, what="the app.failed summary")
    await eventually(lambda: len(follow_ups("wave.failed")) == 2, timeout=30, what="a wave.failed summary per wave")
    await settled(console)

    told = webhook.delivered("app.failed", release)
    assert [d["follow_up"] for d in told] == [False, True], told
    first, summary = told
    assert first["failing"] == [apps[0]] and first["summary"].startswith(f"{apps[0]} failed")
    assert summary["failing_total"] == 49 and len(summary["failing"]) == 5 and summary["counts"]["failed"] == 50
    assert summary["summary"].startswith("49 more failed")

    by_wave: dict[str, list[dict]] = {}
    for doc in webhook.delivered("wave.failed", release):
        by_wave.setdefault(doc["scope"], []).append(doc)
    assert sorted(by_wave) == [f"wave:nb-{unique}-w1", f"wave:nb-{unique}-w2"]
    for docs in by_wave.values():
        assert [(d["follow_up"], d["failing_total"]) for d in docs] == [(False, 1), (True, 24)]
    assert by_wave[f"wave:nb-{unique}-w1"][0]["failing"] == [apps[0]]
    assert len(webhook.delivered()) == 6
