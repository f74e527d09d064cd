"""UI error states against the real Temporal dev server: bad URL parameters, closed workflows, Temporal unreachable.

The "unreachable" tests start a second console (NiceGUI's user simulation running main.py) with its own environment:
one pointed at a port where nothing listens, one reaching Temporal through a TCP relay that the test then cuts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation
from temporalio.client import Client

from release_console.core.config import Settings
from release_console.temporal.releases import report
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, eventually, free_port
from tests.helpers import login as api_login
from tests.integration.ui.helpers import (
    banner_texts,
    freshness_meta,
    login,
    panel_state,
    see,
    see_node,
    see_release,
    start,
    texts,
)

LONG = "x" * 300
WAIT = 15


def warning_with(user: User, text: str) -> str:
    """The page's warning banner line containing ``text`` ('' when there is none)."""
    return next((line for line in banner_texts(user, "warning") if text in line), "")


def notes(user: User) -> str:
    """All texts of the banner notes about ignored URL parameters."""
    return " ".join(texts(user, "banner-info"))


# ---- malformed URL parameters ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "note"),
    [
        (f"state={LONG}", "Ignored the state filter: state is 300 characters long"),
        ("state=%01bad", "Ignored the state filter"),
        ("page=-1", "Ignored page “-1”"),
        ("page=abc", "Ignored page “abc”"),
        ("page=1e400", "Ignored page “1e400”"),
        ("page=99999999999", "Ignored page “99999999999”"),
        ("sort=bogus", "Ignored sort “bogus”"),
    ],
)
async def test_list_ignores_bad_url_params_with_a_note(
    user: User, client: Client, settings: Settings, unique: str, query: str, note: str
) -> None:
    release_id = await start(client, settings, f"lu-{unique}", waves=1, clusters=1, apps=1)
    await login(user, f"/?{query}")
    await see_release(user, release_id)  # the list still works, unfiltered
    await see(user, marker="banner-info")
    assert note in notes(user)
    await user.should_not_see("Traceback")


async def test_list_keeps_good_params_and_clamps_a_page_past_the_end(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    release_id = await start(client, settings, f"lp-{unique}", waves=1, clusters=1, apps=1)
    await login(user, f"/?q=lp-{unique}%00&page=500&sort=id")
    await see_release(user, release_id)  # page 500 of one match is shown as the last page
    await user.should_not_see(marker="banner-info")


async def test_list_page_url_params_never_answer_an_error_status(user: User) -> None:
    await login(user, "/")
    for query in ("page=abc", "page=-1", f"state={LONG}", "sort=bogus", "page=", "state=&sort=&q=", f"q={LONG}"):
        response = await user.http_client.get(f"/?{query}")
        assert response.status_code == 200, (query, response.status_code, response.text[:200])


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("node=garbage", "Ignored node “garbage”: not an entity id"),
        (f"node=app:{'a' * 300}", "Ignored node “app:aaaaaaaa"),
        ("node=app:not-in-this-release", "Ignored node “app:not-in-this-release”: it is not part of"),
        ("node=release:some-other-release", "it is not part of"),
        (f"state={LONG}", "Ignored the state filter: state is 300 characters long"),
    ],
)
async def test_release_page_ignores_bad_url_params_with_a_note(
    user: User, client: Client, settings: Settings, unique: str, query: str, note: str
) -> None:
    key = f"ru-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=2)
    await login(user, f"/releases/{release_id}?{query}")
    await see(user, marker="release-title")
    await see_node(user, f"wave:{key}-w1")  # the tree is shown, unfiltered
    await see(user, marker="banner-info")
    assert note in notes(user)
    assert panel_state(user) == (None, None)  # nothing selected: "Select a node to see its details."
    await user.should_not_see("Traceback")


async def test_release_page_survives_odd_but_harmless_params(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"rh-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=2)
    await login(user, f"/releases/{release_id}?q={'y' * 300}&page=abc&sort=bogus&unknown=1")
    await see(user, marker="release-title")
    await see(user, "0 matches")  # the search was cut to its maximum length and found nothing
    await user.should_not_see(marker="banner-info")
    for query in ("node=%00%ff", f"q={LONG}", "state=&node=&q=", "node=app:" + "%e2%80%ae" * 10):
        response = await user.http_client.get(f"/releases/{release_id}?{query}")
        assert response.status_code == 200, (query, response.status_code)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/releases/release:{'a' * 300}", "characters long"),
        ("/releases/release:%00bad", "release:"),
        ("/releases/app:checkout", "expected a release id"),
        ("/releases/release:", "release:"),
    ],
)
async def test_malformed_release_ids_in_the_path_are_explained(user: User, path: str, message: str) -> None:
    await login(user, path)
    await see(user, marker="error-invalid_id")
    await see(user, marker="error-message")
    assert message in " ".join(texts(user, "error-message"))
    await see(user, marker="back-link")


# ---- closed workflows ----------------------------------------------------------------------------
async def test_terminated_release_shows_final_summary_with_memo_counts(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"tf-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=3)
    await report(client, release_id, [(f"app:{key}-w1-c1-a1", "failed"), (f"app:{key}-w1-c1-a2", "deployed")])
    handle = client.get_workflow_handle(release_id)
    await handle.terminate("operator stopped it")
    summary = await (await handle.describe()).memo_value("summary")
    assert summary["counts"]["app"] == {"failed": 1, "deployed": 1, "pending": 1}
    await login(user, f"/releases/{release_id}")
    await see(user, marker="final-summary", timeout=20)
    assert "The release workflow terminated; showing its last known state." in banner_texts(user, "negative")
    chips = chip_texts(user, "final-counts app")
    assert sorted(chips) == sorted(f"{n} {s}" for s, n in summary["counts"]["app"].items()), chips
    assert chip_texts(user, "final-counts wave") == [f"1 {summary['counts']['wave'].popitem()[0]}"]
    await see(user, f"{summary['apps_done']}/{summary['apps_total']}", marker="final-apps")
    await see(user, summary["state"], marker="final-state")
    assert freshness_meta(user)["status"] == "terminated"  # the chip says "final state (workflow terminated)"
    await user.should_not_see("Traceback")


def chip_texts(user: User, marker: str) -> list[str]:
    """Texts of the chips inside the elements carrying ``marker``."""
    return [
        chip.text
        for element in user.find(marker=marker).elements
        for chip in element.descendants()
        if isinstance(chip, ui.chip)
    ]


async def test_open_release_page_shows_termination_live(
    user: User, client: Client, settings: Settings, unique: str
) -> None:
    key = f"tl-{unique}"
    release_id = await start(client, settings, key, waves=1, clusters=1, apps=2)
    await login(user, f"/releases/{release_id}")
    await see(user, marker="release-title")
    await user.should_not_see(marker="final-summary")
    began = time.monotonic()
    await client.get_workflow_handle(release_id).terminate("stopped while watched")
    await see(user, marker="final-summary", timeout=20)
    print(f"\ntermination shown on an open release page after {time.monotonic() - began:.2f}s")
    assert "The release workflow terminated; showing its last known state." in banner_texts(user, "negative")


# ---- Temporal unreachable ----------------------------------------------------------------------
async def test_console_with_temporal_unreachable_serves_pages_and_explains_login(
    request: pytest.FixtureRequest, console_env: Callable[..., None]
) -> None:
    console_env(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}", TEMPORAL_RPC_TIMEOUT_SECONDS="1")
    began = time.monotonic()
    async with user_simulation(main_file=get_path_to_main_file(request)) as user:
        for path in ("/", "/releases/release:anything", "/admin/users"):
            response = await user.http_client.get(path, follow_redirects=True)
            assert response.status_code == 200, (path, response.status_code)
            assert "Traceback" not in response.text
        print(f"\nconsole with unreachable Temporal: first page after {time.monotonic() - began:.2f}s")
        await user.open("/releases/release:anything")  # sent to the login page, which says why login cannot work
        await see(user, marker="login-button")
        await see(user, "Temporal unreachable: login is unavailable", marker="banner-warning")
        user.find(marker="username").type("admin")
        user.find(marker="password").type("test-admin-password-1")
        user.find(marker="login-button").click()
        await see(user, "accounts are unavailable", marker="login-error")
        await user.should_not_see("Traceback")
        await user.should_see(marker="login-button")  # still on the login page, nothing else happened


class TcpRelay:
    """A TCP relay to the real Temporal server that the test can cut, like a network outage."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def cut(self) -> None:
        """Stop accepting connections and drop the open ones."""
        if self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()


@pytest.fixture
async def relay(settings: Settings) -> AsyncIterator[TcpRelay]:
    target = int(settings.temporal_address.rsplit(":", 1)[1])
    relay = TcpRelay(target)
    await relay.start()
    yield relay
    await relay.cut()


async def test_pages_and_api_say_temporal_unreachable_after_an_outage(
    request: pytest.FixtureRequest,
    console_env: Callable[..., None],
    relay: TcpRelay,
    client: Client,
    settings: Settings,
    unique: str,
) -> None:
    watched = await start(client, settings, f"ow-{unique}", waves=1, clusters=1, apps=2)
    other = await start(client, settings, f"oo-{unique}", waves=1, clusters=1, apps=2)
    console_env(TEMPORAL_ADDRESS=f"127.0.0.1:{relay.port}", TEMPORAL_RPC_TIMEOUT_SECONDS="2")
    async with user_simulation(main_file=get_path_to_main_file(request)) as user:
        await login(user, f"/releases/{watched}")
        await see(user, marker="release-title")
        await relay.cut()
        began = time.monotonic()
        await eventually(lambda: warning_with(user, "Cannot refresh"), timeout=WAIT, what="the outage on the page")
        print(f"\noutage shown on an open release page after {time.monotonic() - began:.2f}s")
        warning = warning_with(user, "Cannot refresh")  # the open page keeps its data ...
        assert "Temporal did not answer" in warning  # ... named as Temporal's outage ...
        assert "no worker answered" not in warning  # ... not as a missing worker
        await user.should_not_see("no worker answered")
        await see(user, marker="release-title")
        began = time.monotonic()
        await user.open("/")
        await eventually(lambda: warning_with(user, "Temporal unreachable"), timeout=WAIT, what="the list's outage")
        print(f"outage shown on the release list after {time.monotonic() - began:.2f}s more")
        began = time.monotonic()
        await user.open(f"/releases/{other}")
        await see(user, marker="error-temporal_unavailable", timeout=WAIT)
        print(f"unreachable release page explained after {time.monotonic() - began:.2f}s")
        await see(user, "Temporal is unreachable")
        await see(user, marker="back-link")
        await user.should_not_see("Traceback")
        # the REST API says the same, as a 503 with Retry-After (the token is checked in memory: no Temporal call)
        headers = await api_login(user.http_client, ADMIN_USERNAME, ADMIN_PASSWORD)
        for path in (f"/api/v1/releases/{other}", f"/api/v1/releases/{other}/entities/wave:oo-{unique}-w1"):
            response = await user.http_client.get(path, headers=headers)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["code"] == "temporal_unavailable" and int(response.headers["retry-after"]) >= 1
        ready = await user.http_client.get("/api/v1/ready")
        assert ready.status_code == 503 and "retry-after" in ready.headers
        assert ready.json()["code"] == "temporal_unavailable"


async def test_open_list_keeps_the_shared_list_refreshing_past_its_idle_time(
    request: pytest.FixtureRequest, console_env: Callable[..., None], client: Client, settings: Settings, unique: str
) -> None:
    console_env(MIRROR_IDLE_SECONDS="0.5")  # the shared list stops refreshing when nobody asked for it this long
    async with user_simulation(main_file=get_path_to_main_file(request)) as user:
        await login(user, "/")
        await see(user, marker="release-rows")
        await asyncio.sleep(1.5)  # well past the idle time, with the page still open
        release_id = await start(client, settings, f"li-{unique}", waves=1, clusters=1, apps=1)
        await see_release(user, release_id, timeout=WAIT)
