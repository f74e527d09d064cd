"""The workflow status next to the release state, a status filter in the list (URL) and REST.

The list's rows are drawn in the browser from their views: ``st`` is the workflow status shown next to the state
(None while running: nothing extra is shown), ``sp`` whether it is a problem (drawn in warning colours)."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from tests.helpers import API, eventually
from tests.integration.ui.helpers import list_ids, list_view, login, see, see_release, start


async def test_terminated_release_shows_its_status_and_filters_follow_the_url(
    user: User, client: Client, settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = await start(client, settings, f"st-{unique}")
    alive = await start(client, settings, f"su-{unique}")
    await client.get_workflow_handle(stopped).terminate("operator stopped it")
    await login(user, f"/?q={unique}")
    await see_release(user, stopped)
    await see_release(user, alive)
    await eventually(lambda: list_view(user, stopped)["st"] == "terminated", what="the terminated status on its row")
    assert list_view(user, stopped)["sp"] is True
    assert list_view(user, alive)["st"] is None  # running shows nothing extra

    urls: list[str] = []
    monkeypatch.setattr(ui.navigate.history, "replace", urls.append)
    user.find(marker="status-filter").click()
    user.find("failed, terminated, cancelled or timed out").click()
    await eventually(lambda: list_ids(user) == [stopped], timeout=5, what=f"only {stopped} listed")
    assert urls and "status=failed-or-terminated" in urls[-1] and f"q={unique}" in urls[-1]

    await user.open(f"/?status=running&q={unique}")
    await eventually(lambda: list_ids(user) == [alive], timeout=5, what=f"only {alive} listed")

    await user.open(f"/?status=closed&q={unique}")
    await eventually(lambda: list_ids(user) == [stopped], timeout=5, what=f"only {stopped} listed")

    await user.open("/?status=nonsense")
    await see(user, "Ignored the status filter", marker="url-notes")


async def test_rest_status_filter_matches_the_list(api, admin_headers, client, settings, unique) -> None:
    stopped = await start(client, settings, f"sr-{unique}")
    alive = await start(client, settings, f"ss-{unique}")
    await client.get_workflow_handle(stopped).terminate("test")

    async def ids(status: str) -> set[str]:
        response = await api.get(f"{API}/releases", params={"status": status, "limit": 1000}, headers=admin_headers)
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()["items"]}

    async def terminated_listed() -> bool:
        return stopped in await ids("failed-or-terminated")

    assert await eventually(terminated_listed, timeout=20)
    assert stopped in await ids("closed") and stopped in await ids("terminated")
    assert alive not in await ids("closed")
    assert alive in await ids("running") and stopped not in await ids("running")
    everything = await api.get(f"{API}/releases", params={"limit": 1000}, headers=admin_headers)
    by_id = {i["id"]: i for i in everything.json()["items"]}
    assert by_id[stopped]["status"] == "terminated" and by_id[alive]["status"] == "running"

    refused = await api.get(f"{API}/releases", params={"status": "bogus"}, headers=admin_headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_parameter"
    assert "failed-or-terminated" in refused.json()["detail"]
