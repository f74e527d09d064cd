"""The header's search box takes a release id or an entity id."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from nicegui.testing import User
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.domain.plan import PlanNode
from release_console.temporal.releases import start_release
from tests.helpers import indexed
from tests.integration.ui.helpers import login, see, see_panel, see_release, start


def shared_plan(release_key: str, app_id: str) -> PlanNode:
    """A one-app release whose app id is chosen by the test (so two releases can hold the same id)."""
    bundle = PlanNode(f"bundle:{release_key}-b", children=[PlanNode(app_id)])
    cluster = PlanNode(f"cluster:{release_key}-c", children=[bundle])
    return PlanNode(f"release:{release_key}", children=[PlanNode(f"wave:{release_key}-w", children=[cluster])])


async def find(user: User, text: str) -> None:
    box = user.find(marker="find")
    box.clear().type(text).trigger("keydown.enter")


async def test_a_release_id_or_its_key_opens_the_release(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"sb-{unique}", 1, 1, 1)
    await login(user, "/")
    await see_release(user, release_id)
    await find(user, release_id)
    await see(user, release_id, marker="release-title")
    await see(user, marker="release-title")
    await user.open("/")
    await find(user, f"sb-{unique}")  # the key alone
    await see(user, marker="release-title")


async def test_an_entity_id_opens_it_in_its_release(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"se-{unique}", 1, 1, 2)
    app = f"app:se-{unique}-w1-c1-a2"
    await login(user, "/")
    await see_release(user, release_id)
    await indexed(app)
    await find(user, app)
    await see(user, marker="release-title")
    await see_panel(user, app)


async def test_an_entity_in_several_releases_lists_the_candidates(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    app = f"app:shared-{unique}"
    first, second = shared_plan(f"sa-{unique}", app), shared_plan(f"sc-{unique}", app)
    await start_release(client, settings, first)
    await start_release(client, settings, second)
    await login(user, "/")
    await see_release(user, second.id)
    await indexed(app, 2)  # else the search opens the one release indexed so far
    await find(user, app)
    await see(user, marker="find-several")
    await see(user, marker=f"find-candidate {first.id}")
    await see(user, marker=f"find-candidate {second.id}")
    user.find(marker=f"find-candidate {second.id}").click()
    await see_panel(user, app)


async def test_nothing_found_says_so_and_bad_input_is_explained(user: User, unique: str) -> None:
    await login(user, "/")
    await see(user, marker="find")
    await find(user, f"app:nowhere-{unique}")
    await see(user, marker="find-message")
    await see(user, f"app:nowhere-{unique} was not found in the")
    await find(user, "app:bad id!")
    await see(user, "is not a release or entity id")
    await find(user, f"release:none-{unique}")
    await see(user, f"No release release:none-{unique}.")
    await see(user, marker="release-rows")  # still on the list: nothing changed


async def test_search_says_it_is_still_indexing(
    request: pytest.FixtureRequest, console_env: Callable[..., None], client: Client, settings: Settings, unique: str
) -> None:
    for key in (f"si1-{unique}", f"si2-{unique}"):
        await start(client, settings, key, 1, 1, 1)
    console_env(ENTITY_INDEX_QUERIES_PER_SECOND="0.1")  # one release read now, the next one in 10 s
    async with user_simulation(main_file=get_path_to_main_file(request)) as user:
        await login(user, "/")
        await see(user, marker="find")
        await indexed(f"app:si2-{unique}-w1-c1-a1")  # the newest: indexed first
        await find(user, f"app:si2-{unique}-w1-c1-a1")
        await see(user, marker="release-title")
        await user.open("/")
        await find(user, f"app:si1-{unique}-w1-c1-a1")
        await see(user, f"app:si1-{unique}-w1-c1-a1 was not found in the releases indexed so far.")
        await see(user, "Still indexing")
