"""SIGTERM drains a console before it stops: not ready at once, new pages refused with 503 (a load
balancer retries them elsewhere), open SSE streams told to reconnect later, the audit log flushed, and the process
gone within a bounded time. A real ``python main.py`` on the session's Temporal, over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from release_console.runtime.drain import WATCHDOG_SLACK_SECONDS
from release_console.temporal.releases import build_plan, start_release
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, REPO_ROOT, free_port
from tests.integration.api.helpers import EventReader

pytestmark = pytest.mark.slow
ROOT = REPO_ROOT
GRACE_SECONDS = 5.0


class Console:
    """A console process of this test's own (no worker: the session's worker process answers its queries)."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "console.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NICEGUI_", "PYTEST_"))}
        env.update(PORT=str(self.port), HOST="127.0.0.1", DATA_DIR=str(data_dir), INSTANCE_NAME="drain-test",
                   SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS))
        self.process = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env,
                                        stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"console exited ({self.process.returncode}):\n{self.output()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/api/v1/ready", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"console not ready within {timeout}s:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    started = Console(tmp_path)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


async def test_sigterm_drains_then_exits(console: Console, client, settings, unique: str) -> None:
    plan = build_plan(f"drain-{unique}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
    await start_release(client, settings, plan)
    async with httpx.AsyncClient(base_url=console.url, timeout=10) as http:
        login = await http.post("/api/v1/login/access-token",
                                data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        async with http.stream("GET", f"/api/v1/releases/{plan.id}/events", headers=headers) as response:
            assert response.status_code == 200
            stream = EventReader(response)
            assert (await stream.until(lambda e: e[-1]["event"] == "hello"))[-1]["event"] == "hello"
            marker = f"drain-{uuid.uuid4().hex[:8]}"
            last = await http.get("/api/v1/users/me", headers={**headers, "X-Request-ID": marker})
            assert last.status_code == 200

            signalled = time.monotonic()
            console.process.send_signal(signal.SIGTERM)
            ready = await http.get("/api/v1/ready")
            page = await http.get("/")
            api_still_served = await http.get("/api/v1/health")
            events = await stream.until(lambda e: e[-1]["event"] == "end", timeout=GRACE_SECONDS)
            await stream.close()

    assert ready.status_code == 503 and ready.json()["code"] == "draining", ready.text
    assert ready.headers["retry-after"] == "1"
    assert page.status_code == 503 and page.json()["code"] == "draining", page.text
    assert api_still_served.status_code == 200  # in-flight and API traffic go on until the listener closes
    assert events and events[-1]["event"] == "end", events
    assert "reconnect" in events[-1]["data"]["reason"]

    bound = GRACE_SECONDS + WATCHDOG_SLACK_SECONDS
    code = await asyncio.to_thread(console.process.wait, bound)
    took = time.monotonic() - signalled
    print(f"SIGTERM → exit in {took:.2f}s (exit code {code}, bound {bound:.0f}s)")
    output = console.output()
    assert code in (0, -signal.SIGTERM), output[-3000:]
    assert "SIGTERM: draining (1 SSE streams open)" in output
    assert marker in output  # the last request's audit line was flushed before the process ended


def test_second_sigterm_stops_at_once(console: Console) -> None:
    """Two SIGTERMs (an impatient supervisor): no second drain, the web server stops right away."""
    console.process.send_signal(signal.SIGTERM)
    console.process.send_signal(signal.SIGTERM)
    code = console.process.wait(GRACE_SECONDS + WATCHDOG_SLACK_SECONDS)
    assert code in (0, -signal.SIGTERM), console.output()[-3000:]
