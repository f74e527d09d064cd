"""`python main.py` with no TEMPORAL_ADDRESS: embedded dev server, in-process worker, demo, clean stop, restart."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from release_console.contract.names import SA_APPS_TOTAL
from release_console.core.config import Settings
from release_console.demo import DEMO_RELEASES
from release_console.temporal.client import connect
from release_console.temporal.embedded import port_in_use
from tests.helpers import REPO_ROOT, free_port

ROOT = REPO_ROOT
DEMO_IDS = {f"release:{spec.key}" for spec in DEMO_RELEASES}
pytestmark = pytest.mark.slow


def _free_port_pair() -> int:
    """A port p with p and p + 1000 free (gRPC and web UI of the embedded server)."""
    for _ in range(50):
        port = free_port()
        if port + 1000 < 32768 and not port_in_use(port + 1000):
            return port
    raise RuntimeError("no free port pair")


def _env(data_dir: Path, console_port: int, temporal_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS" and not k.startswith(("NICEGUI_", "PYTEST_"))}
    env.update(
        PORT=str(console_port),
        HOST="127.0.0.1",
        EMBEDDED_TEMPORAL_PORT=str(temporal_port),
        DATA_DIR=str(data_dir),
        RUN_WORKER="true",
        DEMO="auto",
        TEMPORAL_UI_URL="",
        **extra,
    )
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "main.py"], cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def _run_console(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def _wait_http(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"console exited early:\n{log.read_text()[-3000:]}"
        try:  # /health answers as soon as the process serves; /ready once start-up finished and Temporal answers
            response = httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if response.status_code == 503:
            time.sleep(0.2)
            continue
        assert response.status_code == 200, response.text
        return
    raise AssertionError(f"console did not answer on port {port}:\n{log.read_text()[-3000:]}")


def _interrupt(process: subprocess.Popen, timeout: float = 30) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout)


async def _releases(temporal_port: int, settings: Settings, at_least: int, timeout: float = 30) -> dict[str, int]:
    client = await connect(settings, address=f"127.0.0.1:{temporal_port}")
    deadline = time.monotonic() + timeout
    found: dict[str, int] = {}
    while time.monotonic() < deadline:
        found = {}
        async for wf in client.list_workflows('WorkflowType="ReleaseWorkflow"'):
            found[wf.id] = wf.typed_search_attributes.get(SA_APPS_TOTAL) or 0
        if len(found) >= at_least:
            return found
        await asyncio.sleep(0.5)
    return found


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[dict[str, str], int, int, Path]]:
    console_port, temporal_port = free_port(), _free_port_pair()
    env = _env(tmp_path / "data", console_port, temporal_port)
    yield env, console_port, temporal_port, tmp_path / "console.log"


async def test_embedded_start_runs_demo_stops_cleanly_and_persists(embedded, settings):
    env, console_port, temporal_port, log = embedded
    process = _start(env, log)
    try:
        _wait_http(console_port, process, log)
        assert port_in_use(temporal_port), "embedded Temporal gRPC port should be open"
        assert port_in_use(temporal_port + 1000), "embedded Temporal web UI should be served"
        first = await _releases(temporal_port, settings, at_least=len(DEMO_RELEASES))
        assert set(first) == DEMO_IDS, f"demo releases missing: {first}"
        assert max(first.values()) >= 1000, f"one demo release should have >= 1000 apps: {first}"
    finally:
        code = _interrupt(process)
    assert code == 0, log.read_text()[-3000:]
    assert not port_in_use(temporal_port), "Ctrl-C must stop the embedded Temporal server"
    assert (Path(env["DATA_DIR"]) / "temporal.sqlite").exists()

    process = _start(env, log)
    try:
        _wait_http(console_port, process, log)
        again = await _releases(temporal_port, settings, at_least=len(DEMO_RELEASES))
        assert set(again) == DEMO_IDS, "releases must survive a restart and the demo must not start twice"
    finally:
        assert _interrupt(process) == 0
    assert "Traceback" not in log.read_text()


def test_console_port_in_use_gives_clear_message(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _env(tmp_path / "data", port, _free_port_pair())
        result = _run_console(env)
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_embedded_temporal_port_in_use_gives_clear_message(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _env(tmp_path / "data", free_port(), port, EMBEDDED_TEMPORAL_UI="false")
        result = _run_console(env)
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert "EMBEDDED_TEMPORAL_PORT" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_default_secret_refused_outside_local_mode(tmp_path: Path):
    env = _env(tmp_path / "data", free_port(), _free_port_pair(), ENVIRONMENT="production")
    env.pop("SECRET_KEY", None)
    result = _run_console(env)
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_first_admin_password_refused_outside_local_mode(tmp_path: Path):
    temporal_port = _free_port_pair()
    env = _env(tmp_path / "data", free_port(), temporal_port, ENVIRONMENT="production", SECRET_KEY="s" * 40,
               METRICS_ENABLED="false")
    env.pop("FIRST_ADMIN_PASSWORD", None)
    result = _run_console(env)
    assert result.returncode == 2
    assert "FIRST_ADMIN_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not port_in_use(temporal_port)  # refused before the embedded Temporal server was started
    assert not (tmp_path / "data" / "temporal.sqlite").exists()


PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": "s" * 40, "FIRST_ADMIN_PASSWORD": "first-admin-password-1",
              "METRICS_TOKEN": "m" * 32}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"METRICS_TOKEN": None}, "METRICS_TOKEN must be set"),
        ({"TRUSTED_PROXIES": "0.0.0.0/0"}, "would trust every address"),
        ({"TRUSTED_PROXIES": "10.0.0.1, ::/0"}, "would trust every address"),
        ({"TRUSTED_PROXIES": "10.1.2.3/8"}, "has host bits set; did you mean 10.0.0.0/8"),
        ({"RELEASE_WORKFLOW_TYPE": 'ReleaseWorkflow" OR WorkflowType != "x'}, "RELEASE_WORKFLOW_TYPE"),
    ],
)
def test_unsafe_settings_stop_start_up_with_a_clear_message(tmp_path: Path, changes: dict, message: str) -> None:
    temporal_port = _free_port_pair()
    env = _env(tmp_path / "data", free_port(), temporal_port, **PRODUCTION)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = _run_console(env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not port_in_use(temporal_port)  # refused before anything started

