"""What console_load.py starts and holds: Temporal, the worker, the console and a bare FastAPI app as real processes;
its releases; an admin's token and API key; the console's own figures."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import API, ConsoleStack, free_port, run_section, wait_for_port

BARE_APP = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
'''


@dataclass
class Releases:
    """The releases the run created: keys and ids."""

    key_1k: str = ""
    key_10k: str = ""
    key_100k: str = ""

    @staticmethod
    def rid(key: str) -> str:
        return f"release:{key}"


class LoadStack:
    """A :class:`harness.ConsoleStack` (the console trusting the loopback "proxy", so the password spray can name a
    new client address per attempt) plus a bare FastAPI app on uvicorn to compare with."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.console = ConsoleStack(tmp, console_env={"TRUSTED_PROXIES": "127.0.0.1"}, task_queue="console-load")
        self.procs, self.env, self.url = self.console.procs, self.console.env, self.console.url
        self.bare_port = free_port()
        self.bare_url = f"http://127.0.0.1:{self.bare_port}"
        self.releases = Releases()
        self.settings: Any = None
        self.client: Any = None
        self.http: httpx.AsyncClient | None = None
        self.token = ""
        self.api_key = ""

    # ---- processes --------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Temporal dev server, worker, the bare FastAPI app and the console; returns once the console is ready."""
        self.console.start(console=False)
        (self.tmp / "bare").mkdir()
        (self.tmp / "bare" / "bare_app.py").write_text(BARE_APP)
        bare = self.procs.start(
            "bare-fastapi",
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port", str(self.bare_port),
             "--no-access-log", "--log-level", "warning"],
            self.env, self.tmp / "bare",
        )
        wait_for_port(self.bare_port, bare, 60)
        self.console.start_console()

    def rss(self) -> int | None:
        """The console's RSS in KiB."""
        return self.console.console_rss_kib()

    # ---- clients ----------------------------------------------------------------------------------------------------
    async def connect(self) -> None:
        """A Temporal client for writing and an HTTP client on the console (its own event loop's)."""
        await self.console.connect()
        self.settings, self.client = self.console.settings, self.console.client
        self.http = httpx.AsyncClient(base_url=self.url, timeout=30)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()

    async def login(self) -> None:
        """The admin's token (sent by ``http`` from now on) and an API key of the admin."""
        assert self.http is not None
        self.token = await self.console.token(self.http)
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        created = await self.http.post(f"{API}/api-keys", json={"name": "console_load"})
        self.api_key = created.json().get("key", "") if created.status_code == 201 else ""

    async def stats(self, timeout: float = 30) -> dict[str, Any]:
        assert self.http is not None
        return await self.console.stats(self.http, timeout=timeout)

    # ---- releases ---------------------------------------------------------------------------------------------------
    async def start_release(self, key: str, apps: int) -> None:
        started = time.perf_counter()
        release_id = await self.console.start_release(key, apps)
        print(f"release {release_id}: {apps:,} apps, started and first workflow task done in "
              f"{time.perf_counter() - started:.1f} s")

    async def start_releases(self) -> None:
        """The 1k and 10k releases (the 100k one is started by its own section)."""
        tag = secrets.token_hex(3)
        self.releases.key_1k, self.releases.key_10k, self.releases.key_100k = (
            f"load-{tag}-1k", f"load-{tag}-10k", f"load-{tag}-100k"
        )
        await self.start_release(self.releases.key_1k, 1_000)
        await self.start_release(self.releases.key_10k, 10_000)


@dataclass
class LoadRun:
    """What every section of a run shares: its options, the stack, the figures (what the JSON file holds) and the
    event that ends the background loops."""

    args: argparse.Namespace
    stack: LoadStack
    results: dict[str, Any]
    problems: list[str]
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def section(self, name: str, body: Any) -> None:
        """Run one part; a failure is recorded (and printed) and the run goes on with the next part."""
        await run_section(name, body, self.stack.procs, self.problems)
