"""Fault injection for the outage tests: a Temporal dev server of the test's own that can be SIGKILLed and restarted
(same port, same --db-filename, so its workflows survive), and a worker process of its own that can be stopped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from release_console.temporal.embedded import temporal_binary
from release_console.temporal.search_attributes import dev_server_flags
from tests.helpers import free_port, port_open

FAST_DELETE = [
    "--dynamic-config-value", 'history.transferProcessorUpdateAckInterval="1s"',
    "--dynamic-config-value", 'history.visibilityProcessorUpdateAckInterval="1s"',
]
"""Deleting a workflow that closed moments ago waits for the history queues' ack levels, updated every 30 s by
default: with these flags a closed workflow is gone about 4 s after ``temporal workflow delete``."""


class DevServer:
    """``temporal server start-dev`` on a fixed port and SQLite file."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        search_attributes: bool = True,
        extra: list[str] | None = None,
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.search_attributes = search_attributes
        self.process: subprocess.Popen | None = None
        self.extra = extra or []
        """More ``start-dev`` flags (e.g. FAST_DELETE)."""
        directory.mkdir(parents=True, exist_ok=True)

    def start(self, timeout: float = 60) -> None:
        """Start (or start again) and wait until the gRPC port accepts connections."""
        flags = dev_server_flags() if self.search_attributes else []
        log = (self.directory / "temporal.log").open("ab")
        self.process = subprocess.Popen(
            [
                temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(self.port),
                "--db-filename", str(self.directory / "temporal.sqlite"), "--log-level", "error", *flags, *self.extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"dev server exited ({self.process.returncode}); see {self.directory}/temporal.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"dev server did not open port {self.port} in {timeout}s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients, like a crashed host."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Terminate (kill after 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def wait_healthy(self, timeout: float = 60) -> float:
        """Wait until the frontend answers GetSystemInfo; returns the monotonic time it first did."""
        deadline = time.monotonic() + timeout
        client: Client | None = None
        while time.monotonic() < deadline:
            try:
                if client is None:
                    client = await Client.connect(self.address, lazy=True)
                request = GetSystemInfoRequest()
                await client.workflow_service.get_system_info(request, timeout=timedelta(seconds=1))
                return time.monotonic()
            except Exception:
                await asyncio.sleep(0.05)
        raise AssertionError(f"dev server {self.address} not healthy within {timeout}s")


class WorkerProcess:
    """``release-console worker`` polling one dev server."""

    def __init__(self, address: str, directory: Path) -> None:
        self.address = address
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start polling (returns at once; the worker connects in the background)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NICEGUI_", "PYTEST_"))}
        env["TEMPORAL_ADDRESS"] = self.address
        log = (self.directory / "worker.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "release_console", "worker"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        log.close()

    def stop(self) -> None:
        """SIGKILL: the worker vanishes without telling Temporal (its queries then wait until their deadline)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
