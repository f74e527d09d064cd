"""The extension example (examples/failed_apps_page.py) works inside the console's frame."""

from __future__ import annotations

import importlib.util

from nicegui import app
from nicegui.testing import User
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.services import current
from release_console.temporal.releases import report
from tests.helpers import REPO_ROOT
from tests.integration.ui.helpers import login, see, start

EXAMPLE = REPO_ROOT / "examples" / "failed_apps_page.py"


def _example_router():
    spec = importlib.util.spec_from_file_location("failed_apps_page_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.router


async def test_example_page_lists_failed_apps_in_the_frame(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    page = EXAMPLE.read_text().split("@router.page", 1)[1]
    assert len([line for line in page.splitlines() if line.strip()]) <= 20  # the docs promise ~20 lines of logic
    app.include_router(_example_router())
    key = f"ex-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=2, apps=2)
    await report(client, release_id, [(f"app:{key}-w1-c2-a1", "failed")])
    await login(user, f"/examples/failed/{release_id}")
    await see(user, "1 failed apps")
    await see(user, f"app:{key}-w1-c2-a1")
    await see(user, marker="current-user")  # rendered inside the shared frame
    await user.open(f"/examples/failed/release:missing-{unique}")
    await see(user, marker="error-release_not_found")


async def test_example_page_rejects_a_malformed_id_before_reading(user: User, unique: str) -> None:
    app.include_router(_example_router())
    await login(user, f"/examples/failed/wave:not-a-release-{unique}")
    await see(user, marker="error-invalid_id")
    await see(user, "expected a release id")
    assert current().mirrors.peek(f"wave:not-a-release-{unique}") is None  # the read path was never asked
