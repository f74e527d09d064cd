"""Another team's workflow type (TeamDeployFlow, tests/foreign_team/) on the console's pages: the list names each
row's workflow type when the console lists several, and the release page shows the team's tree and follows it."""

from __future__ import annotations

from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from tests.foreign_team.worker import report, start_deploy
from tests.foreign_team.workflow import WORKFLOW_TYPE
from tests.helpers import eventually
from tests.integration.ui.helpers import list_view, login, node_view, see, see_node, see_release, start


async def test_list_names_the_type_and_the_release_page_shows_the_teams_tree(
    user: User, client: Client, settings: Settings, team_client: Client, team_queue: str, unique: str
) -> None:
    ours = await start(client, settings, f"uref-{unique}", waves=1, clusters=1, apps=1)
    key = f"uteam-{unique}"
    handle = await start_deploy(team_client, team_queue, key)
    await report(handle, (handle.id, "deploying"), (f"app:{key}-a2", "failed"))
    await login(user, f"/?q={unique}")
    await see_release(user, ours)
    await see_release(user, handle.id)
    assert list_view(user, ours)["wt"] == "ReleaseWorkflow"
    await eventually(lambda: list_view(user, handle.id)["s"] == "deploying", what="the team's release deploying")
    row = list_view(user, handle.id)
    assert row["wt"] == WORKFLOW_TYPE and row["p"] == [1, 2, 1]  # 1 of 2 apps done, 1 failed

    await user.open(row["href"])
    await see(user, handle.id, marker="release-title")
    await see_node(user, f"app:{key}-a2")  # the failing branch opens on its own
    assert node_view(user, f"app:{key}-a2")["s"] == "failed"
    await report(handle, (f"app:{key}-a1", "deploying"))  # the team's own update; the open tree follows
    await eventually(lambda: node_view(user, f"app:{key}-a1")["s"] == "deploying", what="the change on its row")
    assert sorted(k[0] for k in node_view(user, f"cluster:{key}-c1")["k"]) == ["deploying", "failed"]

