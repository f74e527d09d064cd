"""Roles in the UI (NiceGUI `user` fixture, real Temporal): viewers see no admin links and are refused admin pages."""

from __future__ import annotations

import uuid

from nicegui import ui
from nicegui.testing import User
from temporalio.client import Client

from release_console import services as services_module
from release_console.core.config import Settings
from release_console.runtime.audit import read_entries
from release_console.ui.frame import ADMIN_LINKS
from tests.helpers import eventually
from tests.integration.ui.helpers import list_ids, list_view, login, see, see_release, start

VIEWER_PASSWORD = "viewer-password-1"
ADMIN_PATHS = [path for _, path in ADMIN_LINKS]


async def new_viewer() -> str:
    """A fresh viewer account, created through the accounts service of the console under test."""
    services = await services_module.wait_until_started(30)
    assert services is not None and services.accounts is not None
    name = f"role-viewer-{uuid.uuid4().hex[:8]}"
    await services.accounts.create_user(name, VIEWER_PASSWORD, "viewer")
    return name


def link_targets(user: User) -> set[str]:
    """Where the page's links point: the links the server draws and those the browser draws in the list's rows
    (each row's id links to its release page, ``href``, and to Temporal's UI, ``tw``)."""
    drawn = {str(link.props.get("href")) for link in user.find(kind=ui.link).elements}
    rows = [list_view(user, release_id) for release_id in list_ids(user)]
    return drawn | {row["href"] for row in rows} | {row["tw"] for row in rows if row["tw"]}


async def test_viewer_sees_no_admin_links_on_list_and_release_pages(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"rv-{unique}", waves=1, clusters=1, apps=1)
    name = await new_viewer()
    await login(user, "/", name, VIEWER_PASSWORD)
    await see(user, name, marker="current-user")
    await see(user, "viewer", marker="current-role")
    await see_release(user, release_id)
    assert f"/releases/{release_id}" in link_targets(user)
    assert "/docs" in link_targets(user)
    assert not link_targets(user) & set(ADMIN_PATHS)
    await user.open(f"/releases/{release_id}")
    await see(user, marker="release-title")
    assert not link_targets(user) & set(ADMIN_PATHS)


async def test_viewer_is_refused_admin_pages_and_the_refusal_is_audited(user: User, settings: Settings) -> None:
    name = await new_viewer()
    await login(user, "/", name, VIEWER_PASSWORD)
    for path, content in (("/admin/users", "users-table"), ("/admin/audit", "audit-table")):
        await user.open(path)
        await see(user, "This page needs the admin role.", marker="forbidden")
        await see(user, marker="back-link")
        await user.should_not_see(marker=content)
        await user.should_not_see(marker="create-user")
    await eventually(
        lambda: len(read_entries(settings, user=name, action="page.denied")) >= 2, what="two page.denied audit lines"
    )
    denied = read_entries(settings, user=name, action="page.denied")
    assert {e["target"] for e in denied} == {"Users", "Audit log"}
    assert all(e["outcome"] == "denied" and e["role"] == "viewer" for e in denied)


async def test_admin_sees_admin_links_and_pages(user: User) -> None:
    await login(user, "/")
    await see(user, "admin", marker="current-role")
    assert set(ADMIN_PATHS) <= link_targets(user)
    await user.open("/admin/users")
    await see(user, marker="users-table")
    await user.should_not_see(marker="forbidden")
    await user.open("/admin/audit")
    await see(user, marker="audit-table")
    await user.should_not_see(marker="forbidden")


async def test_viewer_promoted_to_admin_signs_in_again_and_gets_the_links(user: User) -> None:
    """A role change ends the user's sessions (revocation: tokens and sessions carry the role they were issued
    with); after signing in again the admin pages and links are there."""
    name = await new_viewer()
    await login(user, "/", name, VIEWER_PASSWORD)
    await see(user, "viewer", marker="current-role")
    assert not link_targets(user) & set(ADMIN_PATHS)
    accounts = services_module.current().accounts
    assert accounts is not None
    await accounts.set_role(name, "admin")
    await login(user, "/admin/users", name, VIEWER_PASSWORD)
    await see(user, marker="users-table")
    await see(user, "admin", marker="current-role")
    assert set(ADMIN_PATHS) <= link_targets(user)


async def new_admin() -> str:
    """A second admin account (so it can be demoted: the first admin stays)."""
    name = await new_viewer()
    await services_module.current().accounts.set_role(name, "admin")
    return name


async def test_admin_demoted_while_the_users_page_is_open_cannot_act_and_loses_the_page(
    user: User, settings: Settings
) -> None:
    name = await new_admin()
    await login(user, "/admin/users", name, VIEWER_PASSWORD)
    await see(user, marker="users-table")
    accounts = services_module.current().accounts
    await accounts.set_role(name, "viewer")  # by another admin, elsewhere
    # an action clicked before the page's refresh tick notices is refused all the same
    created = f"sneaky-{uuid.uuid4().hex[:8]}"
    user.find(marker="new-username").type(created)
    user.find(marker="new-password").type("sneaky-password-1")
    user.find(marker="create-user").click()
    await see(user, marker="login-button")  # a role change ended the session: the page goes to the login page
    assert created not in {u.username for u in accounts.list_users()}

    def refusal() -> list[dict]:
        return [e for e in read_entries(settings, action="account.create") if e.get("target") == created]

    await eventually(refusal, what="the refused action's audit line")
    assert refusal()[0]["outcome"] == "denied"


async def test_open_admin_page_is_withdrawn_at_the_next_tick_after_a_demotion(user: User) -> None:
    name = await new_admin()
    await login(user, "/admin/audit", name, VIEWER_PASSWORD)
    await see(user, marker="audit-table")
    await services_module.current().accounts.set_role(name, "viewer")
    await see(user, marker="login-button")  # no click: the refresh tick ended the revoked session
    await user.should_not_see(marker="audit-table")
