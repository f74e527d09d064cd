"""The details panel lists an entity's recent transitions from the change log, and says when older ones are no longer
kept.

The panel is drawn in the browser from the entity's shared details (``history``: ``[[state, colour, updated_at,
version], …]`` newest first, and ``note``); the page test checks those details as the page holds them."""

from __future__ import annotations

from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.domain.tree import ReleaseTree
from release_console.temporal.releases import report
from release_console.ui.components.entity_history import MAX_SHOWN, history_note, recent_transitions
from tests.helpers import eventually
from tests.integration.ui.helpers import login, panel_detail, see_panel, start


def _tree(changes_kept: int = 5000) -> ReleaseTree:
    rows = [
        ("release:r", None, "pending", None),
        ("wave:r-w", "release:r", "pending", None),
        ("cluster:r-c", "wave:r-w", "pending", None),
        ("bundle:r-b", "cluster:r-c", "pending", None),
        ("app:r-a", "bundle:r-b", "pending", None),
        ("app:r-b", "bundle:r-b", "pending", None),
    ]
    return ReleaseTree(rows, changes_kept=changes_kept)


def test_recent_transitions_newest_first_bounded_and_explained() -> None:
    tree = _tree(changes_kept=30)
    for i in range(20):
        tree.apply([("app:r-a", f"s{i % 3}"), ("app:r-b", "deploying")], f"2026-01-01T00:00:{i:02d}Z")
    shown = recent_transitions(tree, "app:r-a")
    assert len(shown) == MAX_SHOWN and [c.version for c in shown] == list(range(20, 10, -1))
    assert history_note(tree, shown) == f"The latest {MAX_SHOWN} transitions; older ones are not shown."
    few = recent_transitions(tree, "app:r-a", limit=50)  # the log keeps 30 changes: versions 6–20
    assert [c.version for c in few][-1] == 6
    assert "Transitions up to version 5 are no longer kept" in history_note(tree, few, limit=50)
    fresh = _tree()
    fresh.apply([("app:r-a", "deploying")], "2026-01-01T00:00:00Z")
    assert history_note(fresh, recent_transitions(fresh, "app:r-a")) == (
        "Every transition since the release started is shown."
    )


async def test_details_panel_lists_the_nodes_transitions(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"eh-{unique}", 1, 1, 2)
    app = f"app:eh-{unique}-w1-c1-a1"
    await login(user, f"/releases/{release_id}?node={app}")
    await see_panel(user, app)
    assert panel_detail(user)["history"] == []
    assert panel_detail(user)["note"] == "Every transition since the release started is shown."
    await report(client, release_id, [(app, "deploying")])
    await report(client, release_id, [(app, "failed")])

    def versions() -> list[tuple[str, int]]:
        return [(state, version) for state, _colour, _at, version in panel_detail(user)["history"]]

    newest_first = [("failed", 2), ("deploying", 1)]
    await eventually(lambda: versions() == newest_first, what="transitions v2 and v1, newest first")
    assert panel_detail(user)["note"] == "Every transition since the release started is shown."
