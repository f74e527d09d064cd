"""A team workflow that keeps no search attributes and no memo (TeamDeployFlow started with ``publish: false``)
still lists with its real state, read from its ``summary`` query once per close status, never per listing or view.

The counter checked is the read path's per-release call count of ``query:summary`` (readpath/stats.py, the counts
behind ``GET /api/v1/stats``); listings are counted by that endpoint's ``calls.list``.
"""

from __future__ import annotations

from temporalio.client import Client

from release_console import services
from tests.foreign_team.worker import report, start_deploy
from tests.helpers import API, eventually

LISTINGS = 3
"""List reads (each after at least one more visibility listing) over which the summary count must not move."""


def summary_queries(release_id: str) -> int:
    """``summary`` queries the console made for one release."""
    return services.current().stats.for_release(release_id).get("query:summary", 0)


async def item_of(api, headers: dict[str, str], release_id: str) -> dict | None:
    """The REST list's item of ``release_id`` (None while not listed)."""
    body = (await api.get(f"{API}/releases", params={"limit": 200}, headers=headers)).json()
    return next((i for i in body["items"] if i["id"] == release_id), None)


async def listings(api, headers: dict[str, str]) -> int:
    """Visibility listings the console made so far (``GET /api/v1/stats``)."""
    return (await api.get(f"{API}/stats", headers=headers)).json()["calls"].get("list", 0)


async def read_list_after_new_listings(api, headers: dict[str, str], release_id: str) -> list[dict]:
    """The release's list item, read LISTINGS times, each time after the console listed visibility again."""
    seen = []
    for _ in range(LISTINGS):
        before = await listings(api, headers)
        await eventually(lambda b=before: _more(api, headers, b), what="another visibility listing")
        seen.append(await item_of(api, headers, release_id))
    return seen


async def _more(api, headers: dict[str, str], than: int) -> bool:
    return await listings(api, headers) > than


async def test_a_release_without_search_attributes_lists_its_summary_state_for_one_query_per_close_status(
    api, admin_headers, team_client: Client, team_queue: str, unique: str
) -> None:
    key = f"bare-{unique}"
    handle = await start_deploy(team_client, team_queue, key, publish=False)
    await report(handle, (handle.id, "deploying"), (f"app:{key}-a1", "deployed"))

    async def deploying() -> dict | None:
        item = await item_of(api, admin_headers, handle.id)
        return item if item is not None and item["state"] == "deploying" else None

    item = await eventually(deploying, what="the bare release listed as deploying (from its summary query)")
    assert item["workflow_type"] == "TeamDeployFlow" and item["status"] == "running"
    assert (item["apps_total"], item["apps_done"], item["progress"]) == (2, 1, 50)  # the summary's figures
    assert summary_queries(handle.id) == 1
    again = await read_list_after_new_listings(api, admin_headers, handle.id)
    assert [i["state"] for i in again] == ["deploying"] * LISTINGS
    assert summary_queries(handle.id) == 1  # not one per listing or per read

    await report(handle, (handle.id, "deployed"))  # a terminal state: the workflow completes (its close status moves)

    async def closed() -> dict | None:
        item = await item_of(api, admin_headers, handle.id)
        return item if item is not None and item["status"] == "completed" and item["state"] == "deployed" else None

    await eventually(closed, what="the closed release listed with its final state")
    assert summary_queries(handle.id) == 2
    after = await read_list_after_new_listings(api, admin_headers, handle.id)
    assert [i["state"] for i in after] == ["deployed"] * LISTINGS
    assert summary_queries(handle.id) == 2
