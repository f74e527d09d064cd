"""The release page with NiceGUI's user fixture against the real Temporal dev server and worker.

The tree, the header's status and the details panel are drawn in the browser from the rows the page chose and the
entities' shared views; these tests check those (tests/integration/ui/helpers.py) and send the events the browser
sends (a click on a row, its toggle, its "show more" button)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from loguru import logger
from nicegui.testing import User
from temporalio.client import Client

from release_console.contract.shapes import ReleaseWorkflowInput
from release_console.core.config import Settings
from release_console.domain.plan import PlanNode
from release_console.services import current
from release_console.temporal.releases import report
from release_console.temporal.worker import build_worker
from release_console.ui.components.time_ago import exact_time
from tests.helpers import eventually
from tests.integration.ui.helpers import (
    banner_lines,
    login,
    more_rows,
    no_node,
    node_view,
    panel_detail,
    see,
    see_node,
    see_panel,
    start,
    tree_event,
)


async def test_tree_opens_failures_first_and_follows_changes(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"ui-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=2, apps=3)
    await report(client, release_id, [(f"app:{key}-w2-c2-a1", "failed")])
    await login(user, f"/releases/{release_id}")
    await see(user, marker="release-title")
    # the failing branch is open down to its apps; the settled/waiting wave 1 stays collapsed
    await see_node(user, f"app:{key}-w2-c2-a1")
    no_node(user, f"cluster:{key}-w1-c1")
    await see_node(user, f"wave:{key}-w1")
    # a change made through the workflow's Update appears without reload
    await report(client, release_id, [(f"app:{key}-w2-c2-a2", "deploying")])
    await eventually(lambda: node_view(user, f"app:{key}-w2-c2-a2")["s"] == "deploying", what="the change on its row")
    assert "deploying" in [k[0] for k in node_view(user, f"cluster:{key}-w2-c2")["k"]]  # and in its ancestors' counts
    assert node_view(user, f"app:{key}-w2-c2-a1")["s"] == "failed"


async def test_last_transition_tooltip_follows_the_node(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    """A row's "for 3 min" and its tooltip "last transition <exact time>" are drawn in the browser from the row's
    view (``u``, the entity's last transition); here that time, and the exact time the tooltip makes of it, follow
    the node's transitions."""
    key = f"tt-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=2)
    app_id = f"app:{key}-w1-c1-a1"
    await login(user, f"/releases/{release_id}?node={app_id}")
    await see_node(user, app_id)
    mirror = current().mirrors.peek(release_id)
    assert mirror is not None

    def tooltip() -> str:
        return f"last transition {exact_time(mirror.tree.entities[app_id].updated_at)}"

    def shown() -> str:
        return f"last transition {exact_time(node_view(user, app_id)['u'])}"

    before = tooltip()
    assert shown() == before
    # the exact time has a resolution of one second: report in a later second so the text must change
    await eventually(lambda: exact_time(datetime.now(UTC)) not in before, timeout=3, what="the next second")
    await report(client, release_id, [(app_id, "deploying")])
    await eventually(lambda: mirror.tree.entities[app_id].state == "deploying", what="the mirror to apply it")
    assert tooltip() != before
    await eventually(lambda: shown() == tooltip(), what="the tooltip to follow")
    assert node_view(user, app_id)["u"] == mirror.tree.entities[app_id].updated_at


async def test_unexpected_load_error_is_logged_and_not_shown(
    user: User, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_get(release_id: str, **_who: object) -> None:  # a bug in the read path, not Temporal
        raise RuntimeError(f"internal detail of {release_id}")

    await login(user, "/")  # the console has started: its read path exists
    monkeypatch.setattr(current().mirrors, "get", broken_get)
    logged: list[str] = []
    sink = logger.add(logged.append, level="ERROR")
    try:
        await user.open(f"/releases/release:bug-{unique}")
        await see(user, marker="error-unexpected")
    finally:
        logger.remove(sink)
    await see(user, "the error has been logged")
    await user.should_not_see("internal detail")
    await user.should_not_see("Temporal could not be reached")
    assert any(f"release:bug-{unique}" in line and "RuntimeError: internal detail" in line for line in logged)


async def test_select_filter_and_search_are_kept_in_the_url(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"ui-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=2, apps=3)
    app_id = f"app:{key}-w1-c2-a3"
    await login(user, f"/releases/{release_id}?node={app_id}")
    await see_panel(user, app_id)
    assert panel_detail(user)["parent"] == f"bundle:{key}-w1-c2"  # the parent, shown in the details panel
    user.find(marker="search").type(f"{key}-w2-c1-a")
    await see(user, "3 matches")
    user.find(marker=f"hit app:{key}-w2-c1-a2").click()
    await see_panel(user, f"app:{key}-w2-c1-a2")
    await see_node(user, f"app:{key}-w2-c1-a2")  # revealed in the tree


async def test_state_filter_from_url_hides_other_branches(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"ui-{unique}"
    release_id = await start(client, settings, key, waves=2, clusters=2, apps=3)
    await report(client, release_id, [(f"app:{key}-w2-c1-a3", "failed")])
    await login(user, f"/releases/{release_id}?state=failed")
    await see_node(user, f"app:{key}-w2-c1-a3")
    no_node(user, f"wave:{key}-w1")
    no_node(user, f"app:{key}-w2-c1-a1")


async def test_large_node_is_paged(user: User, client: Client, settings: Settings, unique: str) -> None:
    key = f"pg-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=250)
    bundle = f"bundle:{key}-w1-c1"
    await login(user, f"/releases/{release_id}?node={bundle}")
    await see_node(user, bundle)
    assert bundle not in more_rows(user)  # the selected bundle is shown, not opened
    tree_event(user, "toggle", bundle)
    await eventually(lambda: bundle in more_rows(user), what="a 'show more' row under the bundle")
    assert more_rows(user)[bundle] == (100, 150, 250)  # "Show 100 more (150 of 250 not shown)"
    await see_node(user, f"app:{key}-w1-c1-a100")
    no_node(user, f"app:{key}-w1-c1-a101")
    tree_event(user, "more", bundle)
    await see_node(user, f"app:{key}-w1-c1-a101")
    assert more_rows(user)[bundle] == (50, 50, 250)  # "Show 50 more (50 of 250 not shown)"


async def test_malformed_id_is_explained(user: User) -> None:
    await login(user, "/releases/wave:not-a-release")
    await see(user, marker="error-invalid_id")
    await see(user, "expected a release id")
    await see(user, marker="back-link")
    for tricky in ("release:..%2F..", "release:a/b", "release:%2e%2e"):  # path tricks: a clear card, not a 404 page
        await user.open(f"/releases/{tricky}")
        await see(user, marker="error-invalid_id")


async def test_unknown_release_is_not_found(user: User, unique: str) -> None:
    await login(user, f"/releases/release:nope-{unique}")
    await see(user, marker="error-release_not_found")
    await see(user, f"release:nope-{unique}")
    await see(user, marker="back-link")


async def test_release_without_worker_says_so_and_recovers_when_one_polls(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = f"release:noworker-{unique}"
    await client.start_workflow(
        "ReleaseWorkflow",
        ReleaseWorkflowInput(plan=PlanNode(release_id, children=[PlanNode(f"wave:nw-{unique}")])),
        id=release_id,
        task_queue=f"nobody-polls-{unique}",
        rpc_timeout=timedelta(seconds=5),
    )
    await login(user, f"/releases/{release_id}")
    await see(user, marker="error-worker_not_responding", timeout=30)
    await see(user, "The page retries on its own.")
    # a worker starts polling that task queue: the open page notices on a retry and draws the release
    late = settings.model_copy(update={"TEMPORAL_TASK_QUEUE": f"nobody-polls-{unique}"})
    async with build_worker(client, late):
        await see(user, marker="release-title", timeout=30)
    await user.should_not_see(marker="error-worker_not_responding")


async def test_terminated_release_shows_final_summary(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"tm-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=2)
    await report(client, release_id, [(f"app:{key}-w1-c1-a1", "failed")])
    await client.get_workflow_handle(release_id).terminate("operator stopped it")
    await login(user, f"/releases/{release_id}")
    await see(user, "Final summary (workflow terminated)", marker="final-summary", timeout=20)
    await see(user, marker="release-title")
    assert ["negative", "The release workflow terminated; showing its last known state."] in banner_lines(user)
