"""What many tests need: waiting for a condition, free ports, accounts and logins (no fixtures here)."""

from __future__ import annotations

import asyncio
import inspect
import random
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The repository's root (main.py, deploy/, examples/, constraints.txt)."""
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "test-admin-password-1"
API = "/api/v1"
LOGIN = f"{API}/login/access-token"


async def eventually(check: Callable[[], Any], *, timeout: float = 15, step: float = 0.05,
                     what: str = "the condition") -> Any:
    """Call ``check`` (plain or async) until it returns something truthy and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        await asyncio.sleep(step)


async def indexed(entity_id: str, holders: int = 1, *, timeout: float = 30) -> None:
    """Wait until the running console's entity index has ``entity_id`` in ``holders`` releases (asking the index, not
    the API: polling ``GET /entities/{id}`` would spend the user's lookups)."""
    from release_console import services

    async def seen() -> bool:
        return len(await services.running().entity_index.holders(entity_id)) >= holders

    await eventually(seen, timeout=timeout, what=f"{entity_id} indexed in {holders} release(s)")


def eventually_sync(check: Callable[[], Any], *, timeout: float = 15, step: float = 0.05,
                    what: str = "the condition") -> Any:
    """:func:`eventually` for tests that run no event loop (real browsers, processes)."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        time.sleep(step)
    return value


def _ephemeral_ports() -> range:
    """The ports the kernel hands to outgoing connections (Linux's default when it cannot be read)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port() -> int:
    """A TCP port nothing is bound to right now, outside the ephemeral range.

    A port the kernel chose (bind to 0) lies in the range it also gives outgoing connections, so once a server
    on it stops, any client socket may take it as its local port and a restart there fails with "address
    already in use". Ports below the range are only ever taken on purpose.
    """
    ephemeral = _ephemeral_ports()
    candidates = [port for port in range(10_000, 32_768) if port not in ephemeral]
    for port in random.sample(candidates, 200):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port below the ephemeral range")


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def login(api: Any, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a user, via POST /api/v1/login/access-token."""
    response = await api.post(LOGIN, data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def new_user(api: Any, admin_headers: dict[str, str], *, role: str = "viewer",
                   password: str = "viewer-password-1", prefix: str = "user") -> str:
    """A fresh account created through the REST API; its username."""
    username = f"{prefix}-{uuid.uuid4().hex[:8]}"
    created = await api.post(f"{API}/users", json={"username": username, "password": password, "role": role},
                             headers=admin_headers)
    assert created.status_code == 201, created.text
    return username


async def after_cycles(stamp: Callable[[], object], cycles: int, *, timeout: float = 60, what: str = "poller") -> None:
    """Return right after a shared poller finished ``cycles`` more cycles, counted by changes of ``stamp()``.

    ``stamp`` is the poller's ``as_of`` (set after each successful cycle). Sampling every 20 ms is far shorter than
    the pollers' sleep, so no cycle is missed and, on return, the next cycle has not started yet: counters read
    right after this call cover whole cycles only.
    """
    deadline = time.monotonic() + timeout
    last, seen = stamp(), 0
    while seen < cycles:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} completed only {seen} of {cycles} cycles within {timeout}s")
        await asyncio.sleep(0.02)
        now = stamp()
        if now != last:
            last, seen = now, seen + 1
