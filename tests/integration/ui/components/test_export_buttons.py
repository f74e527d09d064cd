"""The release page's CSV and JSON export buttons, through the REST export's code."""

from __future__ import annotations

import csv
import io

from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.temporal.releases import report
from tests.helpers import eventually
from tests.integration.ui.helpers import login, release_view, see, start


async def test_export_buttons_download_the_whole_release_as_csv_and_json(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"ex-{unique}", 1, 2, 3)
    app = f"app:ex-{unique}-w1-c1-a1"
    await report(client, release_id, [(app, "failed")])
    await login(user, f"/releases/{release_id}")
    await see(user, marker="export-buttons")
    # wait until the page has the change: the release's app counts (drawn in the browser from its view) hold the failure
    await eventually(lambda: ["failed", 1] in [k[:2] for k in release_view(user)["k"]], what="the failure on the page")
    user.find(marker="export-csv").click()
    await eventually(lambda: len(user.download.http_responses) == 1, what="the CSV download")
    response = user.download.http_responses[0]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{release_id.replace(":", "-")}.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1 + 1 + 2 + 2 + 6  # release, wave, clusters, bundles, apps
    assert {r["id"]: r["state"] for r in rows}[app] == "failed"

    user.find(marker="export-json").click()
    await eventually(lambda: len(user.download.http_responses) == 2, what="the JSON download")
    body = user.download.http_responses[1].json()
    assert len(body["entities"]) == 12 and body["version"] >= 1

    rest_like = await user.http_client.get(f"/downloads/{release_id}?format=xml")
    assert rest_like.status_code == 422  # bad input: a clear error, nothing exported
    bad_id = await user.http_client.get("/downloads/nonsense?format=csv")
    assert bad_id.status_code == 422 and "Cannot export" in bad_id.text
    missing = await user.http_client.get(f"/downloads/release:none-{unique}?format=csv")
    assert missing.status_code == 404


async def test_downloads_need_a_console_session(user: User, unique: str) -> None:
    response = await user.http_client.get(f"/downloads/release:x-{unique}?format=csv", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
