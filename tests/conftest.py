"""Every test: the environment is set before anything reads settings, so the console under test (NiceGUI's ``user``
and ``screen`` fixtures run main.py) connects to the session's Temporal dev server and runs no worker of its own.

Nothing here starts a server: unit tests (tests/unit) run without Temporal; the server fixtures live in
tests/integration/conftest.py and are requested by the fixtures that need them.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from pathlib import Path

import pytest
from nicegui.testing import Screen

from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, free_port

TEST_DATA_DIR = Path(tempfile.mkdtemp(prefix="release-console-test-"))
TEMPORAL_PORT = free_port()

os.environ.update(
    {
        "ENVIRONMENT": "local",
        "TEMPORAL_ADDRESS": f"127.0.0.1:{TEMPORAL_PORT}",
        "TEMPORAL_UI_URL": "http://localhost:8233",
        "RUN_WORKER": "false",
        "DEMO": "off",
        "DATA_DIR": str(TEST_DATA_DIR / "console"),
        # one signing key for every console of the session, in process or started as a process with a data
        # directory of its own: a console with another key (local mode makes one per data directory) finds the
        # shared accounts untrusted and replaces the first admin's record with one only it can read
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIRST_ADMIN_USERNAME": ADMIN_USERNAME,
        "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MIRROR_POLL_SECONDS": "0.25",
        # a watched release quiet for 10 s is polled this often (production: 30 s): after a worker outage its
        # recovery waits for that poll (tests/integration/readpath/test_outages.py took 12 s or 42 s by chance);
        # test_costs_at_rest.py sets its own 60 s to prove that the release list wakes a quiet poller
        "MIRROR_QUIET_POLL_SECONDS": "2",
        "RELEASE_LIST_REFRESH_SECONDS": "0.5",
        # the open pages' session checks, the accounts and channel stores' version polls, the shared sessions'
        # reload: tests that wait for one of them wait a quarter as long (the production default is 2 s)
        "ACCOUNTS_REFRESH_SECONDS": "0.5",
        "TEMPORAL_RPC_TIMEOUT_SECONDS": "5",
        "BCRYPT_ROUNDS": "4",  # fast hashing in tests (the production default is 12)
    }
)

from release_console.core.config import Settings, get_settings  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The screen fixture's port, chosen after NiceGUI's plugin chose one in the ephemeral range: its server
    starts and stops once per test, and an outgoing connection could hold that port in between."""
    Screen.PORT = free_port()


@pytest.fixture
def settings() -> Settings:
    """The settings the console under test uses."""
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for release ids, so tests never collide."""
    return uuid.uuid4().hex[:8]
