"""Another team's workflow type (TeamDeployFlow, tests/foreign_team/: written from docs/query-contract.md alone) in
the REST API, its event stream and its export, next to a reference release on a console listing both types."""

from __future__ import annotations

import csv
import io

from temporalio.client import Client

from release_console.core.config import Settings
from tests.foreign_team.worker import report, start_deploy
from tests.foreign_team.workflow import WORKFLOW_TYPE
from tests.helpers import API, eventually
from tests.integration.api.helpers import event_stream
from tests.integration.ui.helpers import start


async def listed(api, headers: dict[str, str], *release_ids: str) -> dict[str, dict]:
    """The REST list's items of ``release_ids``, once it lists them all (newest first: they are on the first page)."""

    async def all_there() -> dict[str, dict] | None:
        body = (await api.get(f"{API}/releases", params={"limit": 200}, headers=headers)).json()
        items = {i["id"]: i for i in body["items"] if i["id"] in release_ids}
        return items if len(items) == len(release_ids) else None

    return await eventually(all_there, what=f"the list to show {release_ids}")


async def test_list_detail_entity_and_export_of_another_teams_release(
    api, admin_headers, client: Client, settings: Settings, team_client: Client, team_queue: str, unique: str
) -> None:
    ours = await start(client, settings, f"ref-{unique}", waves=1, clusters=1, apps=1)
    key = f"team-{unique}"
    handle = await start_deploy(team_client, team_queue, key)
    theirs = handle.id
    done = await report(handle, (theirs, "deploying"), (f"app:{key}-a1", "deployed"))
    assert done == {"version": 1, "applied": 2}

    async def current() -> dict[str, dict] | None:  # visibility lags the update by a moment
        items = await listed(api, admin_headers, ours, theirs)
        return items if items[theirs]["state"] == "deploying" else None

    items = await eventually(current, what="the team's release in its new state")
    assert items[ours]["workflow_type"] == "ReleaseWorkflow"
    team = items[theirs]
    assert team["workflow_type"] == WORKFLOW_TYPE and team["status"] == "running"
    assert (team["apps_total"], team["apps_done"], team["progress"], team["version"]) == (2, 1, 50, 1)
    assert team["counts"]["app"] == {"deployed": 1, "pending": 1}

    detail = await api.get(f"{API}/releases/{theirs}", params={"depth": 4}, headers=admin_headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert (body["id"], body["state"], body["status"], body["version"]) == (theirs, "deploying", "running", 1)
    bundle = body["children"][0]["children"][0]["children"][0]
    assert [(a["id"], a["state"]) for a in bundle["children"]] == [
        (f"app:{key}-a1", "deployed"), (f"app:{key}-a2", "pending")
    ]

    entity = await api.get(f"{API}/releases/{theirs}/entities/cluster:{key}-c1", headers=admin_headers)
    assert entity.status_code == 200, entity.text
    assert entity.json()["entity"]["counts"] == {"bundle": {"pending": 1}, "app": {"deployed": 1, "pending": 1}}
    assert entity.json()["path"] == [theirs, f"wave:{key}-w1"]

    exported = await api.get(f"{API}/releases/{theirs}/export", params={"format": "csv"}, headers=admin_headers)
    assert exported.status_code == 200 and exported.headers["x-version"] == "1"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["id"], r["state"]) for r in rows] == [
        (theirs, "deploying"), (f"wave:{key}-w1", "pending"), (f"cluster:{key}-c1", "pending"),
        (f"bundle:{key}-b1", "pending"), (f"app:{key}-a1", "deployed"), (f"app:{key}-a2", "pending"),
    ]
    as_json = (await api.get(f"{API}/releases/{theirs}/export", headers=admin_headers)).json()
    assert [e["id"] for e in as_json["entities"]] == [r["id"] for r in rows] and as_json["version"] == 1


async def test_a_change_through_the_teams_update_reaches_the_event_stream(
    api, admin_headers, team_client: Client, team_queue: str, unique: str
) -> None:
    key = f"team-sse-{unique}"
    handle = await start_deploy(team_client, team_queue, key)
    await report(handle, (handle.id, "deploying"))
    async with event_stream(f"http://test{API}/releases/{handle.id}/events", admin_headers) as stream:
        hello = await stream.until(lambda e: e[-1]["event"] == "hello")
        assert hello[-1]["data"]["version"] == 1
        sent = await report(handle, (f"app:{key}-a1", "deployed"), (f"app:{key}-a2", "failed"))
        changes = await stream.until(lambda e: sum(x["event"] == "change" for x in e) >= 2)
        closing = await report(handle, (handle.id, "failed"))  # a terminal release state: the workflow completes
        closed = await stream.until(lambda e: any(x["event"] == "status" for x in e), timeout=20)
    assert [(e["data"]["id"], e["data"]["state"], e["data"]["version"]) for e in changes if e["event"] == "change"] == [
        (f"app:{key}-a1", "deployed", sent["version"]), (f"app:{key}-a2", "failed", sent["version"])
    ]
    status = next(e for e in closed if e["event"] == "status")
    assert status["data"]["status"] == "completed" and status["data"]["state"] == "failed"
    assert closing["version"] == sent["version"] + 1
