"""Start-up either succeeds or exits: the embedded server is waited for until its frontend answers (connection
retried with backoff, a progress line, a deadline); a start that fails for good stops the embedded server and the web
server and exits with code 1; a remote Temporal that is down at start is waited for while pages say so, and what
start-up skipped (search attributes, worker) is done once it answers. Faults are injected: connections that fail
like a starting frontend (tests/flaky_connect_main.py), and a dev server of the test's own started late.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from release_console import services
from release_console.core.config import Settings, get_settings
from release_console.temporal.client import connect
from release_console.temporal.embedded import port_in_use
from release_console.temporal.search_attributes import ensure_search_attributes
from tests.helpers import free_port as _free_port
from tests.integration.dev_server import DevServer
from tests.integration.temporal.test_embedded import ROOT, _env, _free_port_pair
from tests.integration.ui.helpers import see

pytestmark = pytest.mark.slow
SCRIPT = str(Path(__file__).with_name("flaky_connect_main.py"))


def _launch(env: dict[str, str], log: Path) -> subprocess.Popen:
    output = log.open("ab")
    return subprocess.Popen([sys.executable, SCRIPT], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def _wait_status(port: int, path: str, status: int, process: subprocess.Popen, log: Path, timeout: float) -> float:
    """Seconds until GET ``path`` answers ``status``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        assert process.poll() is None, f"console exited ({process.returncode}):\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == status:
                return time.monotonic() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} did not answer {status} within {timeout}s:\n{log.read_text()[-3000:]}")


async def test_embedded_start_retries_until_the_frontend_is_healthy_and_sets_retention(
    tmp_path: Path, settings: Settings
) -> None:
    console_port, temporal_port = _free_port(), _free_port_pair()
    env = _env(tmp_path / "data", console_port, temporal_port, EMBEDDED_TEMPORAL_UI="false")
    env.update(DEMO="off", INJECT_CONNECT_FAILURES="4")
    log = tmp_path / "console.log"
    process = _launch(env, log)
    try:
        alive = await asyncio.to_thread(_wait_status, console_port, "/api/v1/health", 200, process, log, 60)
        ready = await asyncio.to_thread(_wait_status, console_port, "/api/v1/ready", 200, process, log, 60)
        print(f"\n/health answered after {alive:.2f}s; /ready 200 {ready:.2f}s later (4 injected connect failures)")
        text = log.read_text()
        assert "waiting for the embedded Temporal server" in text, text[-3000:]
        assert "Frontend is not healthy yet" in text, text[-3000:]
        assert "start-up failed" not in text
        client = await connect(settings, address=f"127.0.0.1:{temporal_port}")
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=settings.TEMPORAL_NAMESPACE), timeout=timedelta(seconds=5)
        )
        assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=90)
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(process.wait, 30)
    assert code == 0, log.read_text()[-3000:]
    assert not port_in_use(temporal_port)


def test_start_up_that_fails_for_good_stops_everything_and_exits_1(tmp_path: Path) -> None:
    console_port, temporal_port = _free_port(), _free_port_pair()
    env = _env(tmp_path / "data", console_port, temporal_port, EMBEDDED_TEMPORAL_UI="false")
    env.update(DEMO="off", INJECT_CONNECT_FAILURES="-1", STARTUP_TIMEOUT_SECONDS="3")
    began = time.monotonic()
    result = subprocess.run([sys.executable, SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    print(f"\nfailed start-up exited with code {result.returncode} after {time.monotonic() - began:.1f}s")
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("release-console: start-up failed: the embedded Temporal server"), last
    assert "did not become healthy within 3s" in last and "Frontend is not healthy yet" in last, last
    assert not port_in_use(temporal_port), "the embedded Temporal server must be stopped"
    assert not port_in_use(console_port), "the console must not keep its port"
    assert "Traceback" not in result.stderr + result.stdout


async def test_ctrl_c_while_waiting_for_the_embedded_server_stops_it(tmp_path: Path) -> None:
    console_port, temporal_port = _free_port(), _free_port_pair()
    env = _env(tmp_path / "data", console_port, temporal_port, EMBEDDED_TEMPORAL_UI="false")
    env.update(DEMO="off", INJECT_CONNECT_FAILURES="-1", STARTUP_TIMEOUT_SECONDS="60")
    log = tmp_path / "console.log"
    process = _launch(env, log)
    try:
        deadline = time.monotonic() + 60
        while "waiting for the embedded Temporal server" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            await asyncio.sleep(0.1)
        assert port_in_use(temporal_port)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C in the middle of start-up
        code = await asyncio.to_thread(process.wait, 30)
    assert code == 0, log.read_text()[-3000:]
    assert not port_in_use(temporal_port), "a Ctrl-C during start-up must stop the embedded server too"
    assert "start-up failed" not in log.read_text()


@pytest.fixture
def late_temporal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DevServer]:
    """A dev server that is not running yet (started by the test), without the release search attributes; the
    console under test points at it and runs its own worker."""
    server = DevServer(tmp_path / "late", search_attributes=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", server.address)
    monkeypatch.setenv("RUN_WORKER", "true")
    get_settings.cache_clear()
    try:
        yield server
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        server.stop()


async def test_remote_temporal_down_at_start_is_waited_for_and_start_up_finished(
    request: pytest.FixtureRequest, late_temporal: DevServer
) -> None:
    async with user_simulation(main_file=get_path_to_main_file(request)) as user:
        http = user.http_client
        assert (await http.get("/api/v1/health")).status_code == 200
        ready = await http.get("/api/v1/ready")
        assert ready.status_code == 503 and ready.json()["code"] == "temporal_unavailable"
        assert "retry-after" in ready.headers
        await user.open("/")
        await see(user, "Temporal unreachable", marker="banner-warning")
        running = services.current()
        assert running.worker is None and running.health is not None and not running.health.up

        began = time.monotonic()
        await asyncio.to_thread(late_temporal.start)
        await late_temporal.wait_healthy()
        answered = time.monotonic() - began
        deadline = time.monotonic() + 30
        while running.worker is None or not running.accounts.has_enabled_admin():  # users loaded, first admin made
            assert time.monotonic() < deadline, "start-up was not finished after Temporal came"
            await asyncio.sleep(0.05)
        finished = time.monotonic() - began
        assert (await http.get("/api/v1/ready")).status_code == 200
        print(f"\nlate Temporal answering after {answered:.2f}s; worker and first admin after {finished:.2f}s")
        client = await connect(get_settings())
        assert await ensure_search_attributes(client) == [], "the console should have registered them"
