"""The workflow's bounded progress timeline, the optional ``timeline`` query, the shared feed,
REST ``GET /releases/{id}/timeline`` and the release page's live burn-up chart."""

from __future__ import annotations

import asyncio

from nicegui.testing import User
from temporalio.client import Client

from release_console.contract.names import QUERY_TIMELINE
from release_console.core.config import Settings
from release_console.domain.timeline import (
    MAX_POINTS,
    parse_timeline,
)
from release_console.services import current
from release_console.temporal.releases import build_plan, report, start_release
from tests.helpers import API, eventually
from tests.integration.stub_release import running
from tests.integration.ui.helpers import login, see, timeline

# ---- the bounded timeline (pure) ------------------------------------------------------------------------




# ---- the reference workflow ---------------------------------------------------------------------------
async def test_workflow_records_a_point_per_batch_and_carries_them_across_continue_as_new(
    client: Client, settings: Settings, unique: str
) -> None:
    plan = build_plan(f"tl-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=4)
    handle = await start_release(client, settings, plan, max_updates_per_run=2)
    apps = [f"app:tl-{unique}-w1-c1-a{i}" for i in range(1, 5)]
    await report(client, plan.id, [(apps[0], "deploying"), (apps[1], "deploying")])
    await report(client, plan.id, [(apps[0], "deployed")])
    await report(client, plan.id, [(apps[1], "failed")])  # lands in the second run
    await report(client, plan.id, [(apps[2], "deploying")])
    answer = await handle.query(QUERY_TIMELINE)
    version, points = parse_timeline(answer)
    assert answer["max_points"] == MAX_POINTS
    assert [p[1] for p in points] == [0, 1, 2, 3, 4] and version == 4
    assert points[0][2] == {"pending": 4}
    assert points[-1][2] == {"deployed": 1, "failed": 1, "deploying": 1, "pending": 1}
    first_run = (await handle.describe()).run_id
    assert first_run != handle.first_execution_run_id  # it did continue-as-new: the timeline was carried


# ---- REST and the shared feed --------------------------------------------------------------------------
def foreign_rows(release_id: str) -> list:
    """A valid release of another team's workflow, which has no ``timeline`` query."""
    key = release_id.split(":", 1)[1]
    return [
        [release_id, None, "deploying", "2025-01-01T00:00:00Z"],
        [f"wave:{key}-w", release_id, "deploying", None],
        [f"cluster:{key}-c", f"wave:{key}-w", "deploying", None],
        [f"bundle:{key}-b", f"cluster:{key}-c", "deploying", None],
        [f"app:{key}-a", f"bundle:{key}-b", "deploying", None],
    ]


async def test_rest_timeline_shared_by_readers_and_404_without_the_query(
    api, admin_headers, client: Client, settings: Settings, unique: str
) -> None:
    plan = build_plan(f"tr-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    app = f"app:tr-{unique}-w1-c1-a1"
    await report(client, plan.id, [(app, "deploying")])
    answers = await asyncio.gather(
        *(api.get(f"{API}/releases/{plan.id}/timeline", headers=admin_headers) for _ in range(20))
    )
    assert all(a.status_code == 200 for a in answers), answers[0].text
    body = answers[0].json()
    assert body["release_id"] == plan.id and body["max_points"] == MAX_POINTS and body["stale"] is False
    assert body["points"][-1]["in_progress"] == 1 and body["points"][-1]["total"] == 2
    assert body["points"][0]["apps"] == {"pending": 2}
    asked = current().stats.for_release(plan.id).get("query:timeline", 0)
    assert asked == 1, f"20 readers made {asked} timeline queries"

    await report(client, plan.id, [(app, "failed")])

    async def grown():
        got = await api.get(f"{API}/releases/{plan.id}/timeline", headers=admin_headers)
        return got.json()["points"][-1]["failed"] == 1 and got.json()

    latest = await eventually(grown, timeout=20)
    assert latest and len(latest["points"]) == 3

    malformed = await api.get(f"{API}/releases/nonsense/timeline", headers=admin_headers)
    assert malformed.status_code == 422 and malformed.json()["code"] == "invalid_id"
    missing = await api.get(f"{API}/releases/release:nope-{unique}/timeline", headers=admin_headers)
    assert missing.status_code == 404 and missing.json()["code"] == "release_not_found"

    foreign_id = f"release:foreign-{unique}"
    async with running(client, foreign_rows, foreign_id):
        detail = await api.get(f"{API}/releases/{foreign_id}", headers=admin_headers)
        none = await api.get(f"{API}/releases/{foreign_id}/timeline", headers=admin_headers)
    assert detail.status_code == 200, detail.text
    assert none.status_code == 404 and none.json()["code"] == "timeline_not_supported", none.text


# ---- the release page's chart ---------------------------------------------------------------------------
# The chart is drawn in the browser (timeline_chart.js) from the release's shared timeline: its ``points`` (``[[time,
# done, failed, in progress], …]``, one per drawn point) and its ``note``; these tests check what the page holds.
def _points(user: User) -> list:
    return list(timeline(user)["points"])


async def test_release_page_chart_draws_and_grows_after_a_change(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    plan = build_plan(f"tc-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=3)
    await start_release(client, settings, plan)
    app = f"app:tc-{unique}-w1-c1-a1"
    await report(client, plan.id, [(app, "deploying")])
    await login(user, f"/releases/{plan.id}")
    await see(user, marker="timeline-chart")
    await eventually(lambda: len(_points(user)) == 2, what="two points drawn")
    assert timeline(user)["note"] == ""
    before = len(_points(user))
    await report(client, plan.id, [(app, "deployed")])
    await eventually(lambda: len(_points(user)) > before, timeout=20, what="the chart to grow")
    done = _points(user)
    assert done[-1][1] == 1  # one app done


async def test_foreign_workflow_without_the_query_hides_the_chart_with_a_note(
    user: User, client: Client, unique: str
) -> None:
    foreign_id = f"release:foreignui-{unique}"
    async with running(client, foreign_rows, foreign_id):
        await login(user, f"/releases/{foreign_id}")
        await see(user, marker="release-title")
        await eventually(lambda: "does not implement the optional timeline query" in timeline(user)["note"],
                         timeout=20, what="the note instead of the chart")
        assert _points(user) == []  # no point: the browser shows the note and hides the chart
