"""A real fleet at idle: what thousands of releases and a hundred watched ones cost the console when nothing happens.

    python benchmarks/fleet.py [--releases 5000 20000] [--duration 60] [--index-wait 1200] [--watched 100]
                               [--lookups 10] [--json PATH] [--quick]

Starts a :class:`harness.ConsoleStack` (its own ``temporal server start-dev``, the worker in its own process, the
console as a real process on loopback), then for each ``--releases`` size (each size adds tiny one-app releases to
the previous one) prints and records:

1. **Release list at rest**: once the worker has run the new releases' first tasks, console CPU (% of one core)
   over ``--duration`` s with no HTTP traffic at all (the window starts right after one read of the list: the
   console keeps refreshing it for MIRROR_IDLE_SECONDS after the last read), then with one API reader
   (``GET /api/v1/releases?limit=50`` every 2 s); visibility ``list`` calls/s (the difference of ``/api/v1/stats``
   ``calls``: one call per visibility page); console RSS; first-page p95 at 10 connections (wrk); how long a newly
   started release takes to appear in the first page.
2. **Entity lookup** (``GET /api/v1/entities/app:…``) of apps of old releases (the 100th newest, the oldest, others
   in between): status, answer, Temporal calls and failures per lookup, p50/p95. An index that answers
   ``complete: false`` is waited for (``--index-wait``) before the lookups are timed.
3. **Watched releases at rest**: ``--watched`` small releases, each with one SSE stream, nothing changing for
   ``--duration`` s: Temporal calls/s by kind, console CPU, stale mirrors; then one app transition on 20 of them
   (2 s apart) and on 10 of those again: change → SSE ``change`` event latency, also for releases quiet ≥ 60 s;
   then three more entity lookups of old releases while all of them are still watched (polled).

Sections 2 and 3 first wait (up to 200 s) until the console follows no release, so the mirrors one section
started (lookups that find their release, watched releases) do not count in the next one.

Figures, not pass/fail. The console runs with per-user quotas raised (streams, new mirrors, lookups) so one
benchmark user can watch a hundred releases; everything else is the console's defaults. ``--quick`` is a smoke
run (300 releases, 20 watched, 15 s windows, 4 lookups). The JSON file is rewritten after every section, so an
interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    API,
    ConsoleStack,
    StackBenchmark,
    cpu_seconds,
    fmt,
    latency_summary,
    ms,
    percentile,
    run_benchmark,
    run_wrk,
    sse_events,
    stats_delta,
)

LIST_PATH = f"{API}/releases?limit=50"
READER_PERIOD_SECONDS = 2.0
NEW_RELEASES = 5
CHANGES = 20
REPEAT_CHANGES = 10
CHANGE_GAP_SECONDS = 2.0
QUIET_SECONDS = 60.0
EVENT_TIMEOUT_SECONDS = 30.0
LOOKUP_TIMEOUT_SECONDS = 180.0
WATCHED_APPS = 3
SETTLE_CPU_PERCENT = 5.0
QUOTAS = {"USER_SSE_STREAMS": "1000", "USER_NEW_MIRRORS_PER_MINUTE": "100000",
          "USER_ENTITY_LOOKUPS_PER_MINUTE": "100000"}
"""One benchmark user watches every release: per-user limits out of the way (they do not change the cost)."""


# ---------------------------------------------------------------------------------------------------------------------
# small helpers


def per_second(counts: dict[str, int], seconds: float) -> dict[str, float]:
    """Counts over a window → rates."""
    return {k: round(v / seconds, 2) for k, v in counts.items()} if seconds > 0 else {}


def index_fields(body: Any) -> dict[str, Any]:
    """``complete`` / ``indexed`` / ``total`` of a lookup's answer, at its top level or one level down."""
    found: dict[str, Any] = {}
    if not isinstance(body, dict):
        return found
    for scope in [body, *(v for v in body.values() if isinstance(v, dict))]:
        for name in ("complete", "indexed", "total"):
            if name in scope and name not in found:
                found[name] = scope[name]
    return found


@dataclass
class CpuWindow:
    """CPU seconds of the stack's processes at the start of a window."""

    pids: dict[str, int]
    started: float = field(default_factory=time.perf_counter)
    cpu: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def percent(self) -> dict[str, float | None]:
        """% of one core each process used since the start."""
        wall = time.perf_counter() - self.started
        out: dict[str, float | None] = {}
        for name, pid in self.pids.items():
            now, before = cpu_seconds(pid), self.cpu.get(name)
            out[name] = None if now is None or before is None or wall <= 0 else round(100 * (now - before) / wall, 1)
        return out


# ---------------------------------------------------------------------------------------------------------------------
# the benchmark


class Fleet(StackBenchmark):
    """Runs every section."""

    name = "fleet"

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        console_env = dict(QUOTAS)
        if args.index_rate is not None:
            console_env["ENTITY_INDEX_QUERIES_PER_SECOND"] = str(args.index_rate)
        super().__init__(args, tmp, {
            "releases": args.releases, "duration_s": args.duration, "watched": args.watched, "lookups": args.lookups,
            "index_wait_s": args.index_wait, "quick": args.quick, "console_env": console_env})
        self.stack = ConsoleStack(tmp, console_env=console_env, task_queue="fleet")
        self.tag = secrets.token_hex(2)
        self.tiny: list[str] = []
        """Keys of the tiny releases, in the order they were started (the first is the oldest)."""
        self.watch_rounds = 0
        self.token = ""
        self.token_at = 0.0
        self.http: httpx.AsyncClient | None = None
        self.results["sizes"] = []

    def start(self) -> None:
        super().start()
        self.results["console_pid"] = self.stack.console.pid if self.stack.console else None

    def report(self) -> None:
        print_report(self.results)

    # ---- plumbing ---------------------------------------------------------------------------------------------------
    @property
    def pids(self) -> dict[str, int]:
        """The stack's processes by name (console, worker, temporal)."""
        return {p.name: p.pid for p in self.stack.procs.started}

    async def login(self) -> None:
        """A fresh admin token every 20 minutes (tokens last an hour; a 20,000-release run is longer)."""
        assert self.http is not None
        if time.monotonic() - self.token_at > 1200:
            self.token = await self.stack.token(self.http)
            self.token_at = time.monotonic()
            self.http.headers["Authorization"] = f"Bearer {self.token}"

    async def stats(self) -> dict[str, Any]:
        assert self.http is not None
        return await self.stack.stats(self.http, timeout=120)

    async def window(self, seconds: float, during: Callable[[], Awaitable[None]] | None = None) -> dict[str, Any]:
        """Stats and CPU over ``seconds`` (``during`` runs meanwhile and is cancelled at the end)."""
        before = await self.stats()
        cpu = CpuWindow(self.pids)
        task = asyncio.create_task(during()) if during else None
        try:
            await asyncio.sleep(seconds)
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        cpu_percent = cpu.percent()
        wall = time.perf_counter() - cpu.started
        after = await self.stats()
        delta = stats_delta(before, after)
        calls = sum(delta["calls"].values())
        return {
            "seconds": round(wall, 1),
            "cpu_percent": cpu_percent,
            "calls": delta["calls"],
            "failures": delta["failures"],
            "calls_per_s": per_second(delta["calls"], wall),
            "total_calls_per_s": round(calls / wall, 2),
            "list_calls_per_s": round(delta["calls"].get("list", 0) / wall, 3),
            "console_rss_kib": self.stack.console_rss_kib(),
            "mirrors": len(after.get("mirrors", [])),
            "stale_mirrors": sorted(m["release_id"] for m in after.get("mirrors", []) if m.get("stale")),
            "release_list_size": after.get("release_list_size"),
            "loadavg_after": os.getloadavg(),
            "stats_after": after,
        }

    async def wait_no_mirrors(self, timeout: float = 200) -> int:
        """Wait until the console follows no release (the previous section's mirrors idle out); returns how many
        are left."""
        deadline = time.monotonic() + timeout
        while True:
            left = len((await self.stats()).get("mirrors", []))
            if left == 0 or time.monotonic() > deadline:
                return left
            await asyncio.sleep(5)

    async def settle(self, timeout: float = 300) -> dict[str, Any]:
        """Wait until the worker has run the new releases' first tasks (under SETTLE_CPU_PERCENT of a core over
        5 s), so "at rest" windows measure the fleet at rest; returns how long it took and the last figures."""
        began = time.perf_counter()
        while True:
            cpu = CpuWindow(self.pids)
            await asyncio.sleep(5)
            figures = cpu.percent()
            worker = figures.get("worker")
            if worker is None or worker < SETTLE_CPU_PERCENT or time.perf_counter() - began > timeout:
                return {"seconds": round(time.perf_counter() - began, 1), "cpu_percent": figures}

    # ---- the run ----------------------------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.stack.connect()
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        self.http = httpx.AsyncClient(base_url=self.stack.url, timeout=60, limits=limits)
        try:
            for size in self.args.releases:
                out: dict[str, Any] = {"releases": size}
                self.results["sizes"].append(out)
                print(f"\n===== {size:,} releases =====", flush=True)
                await self.login()
                await self.section(f"{size}: start", lambda o=out, s=size: self.grow(o, s))
                await self.section(f"{size}: lookup", lambda o=out: self.entity_lookup(o))  # the index built first
                await self.login()
                await self.section(f"{size}: list", lambda o=out: self.release_list(o))  # so "at rest" is at rest
                await self.login()
                await self.section(f"{size}: watched", lambda o=out: self.watched(o))
        finally:
            await self.http.aclose()

    # ---- set-up of one size -----------------------------------------------------------------------------------------
    async def grow(self, out: dict[str, Any], size: int) -> None:
        """Start tiny releases until ``size`` are there; wait until the console lists them all."""
        keys = [f"fleet-{self.tag}-{i:05d}" for i in range(len(self.tiny), size)]
        started = await self.stack.start_releases(keys)
        self.tiny.extend(keys)  # failures are rare and named below; the keys keep their start order
        began = time.perf_counter()
        listed = await self.wait_listed(len(self.tiny) - len(started.failures))
        out["start"] = {"started": len(started.ids), "failures": len(started.failures),
                        "failure_kinds": sorted(set(started.failures)), "start_seconds": round(started.seconds, 1),
                        "listed": listed, "listed_after_s": round(time.perf_counter() - began, 1)}
        print(f"{len(started.ids):,} tiny releases started in {started.seconds:.0f} s"
              + (f" ({len(started.failures)} failed: {', '.join(sorted(set(started.failures)))})"
                 if started.failures else "")
              + f"; the console lists {listed:,} releases {time.perf_counter() - began:.0f} s later", flush=True)

    async def wait_listed(self, wanted: int, timeout: float = 600) -> int:
        """Read the list (so it refreshes) until the console's list holds ``wanted`` releases; returns its size."""
        assert self.http is not None
        deadline = time.monotonic() + timeout
        size = 0
        while time.monotonic() < deadline:
            await self.http.get(f"{API}/releases", params={"limit": 1})
            size = int((await self.stats()).get("release_list_size") or 0)
            if size >= wanted:
                break
            await asyncio.sleep(2)
        return size

    # ---- 1. the release list ----------------------------------------------------------------------------------------
    async def release_list(self, out: dict[str, Any]) -> None:
        """Idle, one reader, wrk first page, time to appear."""
        row: dict[str, Any] = {}
        out["list"] = row
        row["mirrors_before"] = await self.wait_no_mirrors()
        row["settle"] = await self.settle()
        print(f"[list] worker settled after {row['settle']['seconds']:.0f} s: {row['settle']['cpu_percent']}",
              flush=True)
        assert self.http is not None
        await self.http.get(LIST_PATH)  # the last read before the window: the list keeps refreshing after one
        idle = row["idle"] = await self.window(self.args.duration)
        print(f"[list] at rest, nobody reading: console {fmt(idle['cpu_percent'].get('console'), 1)} % of a core "
              f"(worker {fmt(idle['cpu_percent'].get('worker'), 1)} %, temporal "
              f"{fmt(idle['cpu_percent'].get('temporal'), 1)} %), list {idle['list_calls_per_s']:.2f}/s, "
              f"Temporal calls {idle['total_calls_per_s']:.1f}/s, RSS {fmt((idle['console_rss_kib'] or 0) / 1024)} MiB",
              flush=True)
        reads: list[float] = []
        one = row["one_reader"] = await self.window(self.args.duration, lambda: self.reader(reads))
        one["reader"] = {"requests": len(reads), **latency_summary(reads)}
        print(f"[list] one API reader every {READER_PERIOD_SECONDS:g} s: console "
              f"{fmt(one['cpu_percent'].get('console'), 1)} % of a core, list {one['list_calls_per_s']:.2f}/s, "
              f"Temporal calls {one['total_calls_per_s']:.1f}/s, reader p50 {fmt(one['reader']['p50_ms'])} ms, "
              f"RSS {fmt((one['console_rss_kib'] or 0) / 1024)} MiB", flush=True)
        seconds = min(self.args.duration, 20.0)
        wrk = await run_wrk(self.stack.url + LIST_PATH, 10, seconds, token=self.token, timeout=10, threads=1)
        row["wrk_10"] = wrk.__dict__
        print(f"[list] first page at 10 connections ({seconds:g} s): {wrk.rps:,.0f} req/s, p50 {fmt(wrk.p50_ms, 1)} "
              f"ms, p95 {fmt(wrk.p95_ms, 1)} ms, errors {wrk.errors + wrk.socket_errors}, timeouts {wrk.timeouts}",
              flush=True)
        row["appear"] = await self.time_to_appear()

    async def reader(self, latencies: list[float]) -> None:
        """One API client reading the first page every READER_PERIOD_SECONDS."""
        assert self.http is not None
        while True:
            began = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                if (await self.http.get(LIST_PATH)).status_code == 200:
                    latencies.append(time.perf_counter() - began)
            await asyncio.sleep(max(0.0, READER_PERIOD_SECONDS - (time.perf_counter() - began)))

    async def time_to_appear(self) -> dict[str, Any]:
        """Start NEW_RELEASES tiny releases one by one; each: from just before its start until the first page
        names it (read every 0.25 s)."""
        assert self.http is not None
        times: list[float] = []
        missed = 0
        for n in range(NEW_RELEASES):
            key = f"fleet-{self.tag}-new-{len(self.tiny)}-{n}"
            began = time.perf_counter()
            started = await self.stack.start_releases([key])
            if started.failures:
                missed += 1
                continue
            rid = started.ids[0]
            while time.perf_counter() - began < 120:
                response = await self.http.get(LIST_PATH)
                if response.status_code == 200 and any(i["id"] == rid for i in response.json()["items"]):
                    times.append(time.perf_counter() - began)
                    break
                await asyncio.sleep(0.25)
            else:
                missed += 1
        result = {"samples": len(times), "missed": missed, "seconds": [round(t, 2) for t in times],
                  "median_s": statistics.median(times) if times else None, "max_s": max(times) if times else None}
        print(f"[list] a new release appears in the first page after: median {fmt(result['median_s'], 1)} s, "
              f"max {fmt(result['max_s'], 1)} s ({len(times)} of {NEW_RELEASES}"
              + (f", {missed} never within 120 s" if missed else "") + ")", flush=True)
        return result

    # ---- 2. entity lookup -------------------------------------------------------------------------------------------
    def lookup_targets(self) -> list[tuple[str, str]]:
        """(label, app id) of old tiny releases: the 100th newest, the oldest, then others spread between (each a
        different release, so no answer remembered from an earlier lookup is reused)."""
        count = len(self.tiny)
        picks = [("100th newest", max(0, count - 100)), ("oldest", 0)]
        spread = max(0, self.args.lookups - 2)
        for n in range(spread):
            picks.append((f"{n + 1} of {spread} between", (n + 1) * max(1, count - 100) // (spread + 1)))
        seen: set[int] = set()
        targets = []
        for label, index in picks:
            if index not in seen:
                seen.add(index)
                targets.append((label, self.tiny_app(index)))
        return targets[: self.args.lookups]

    def tiny_app(self, index: int) -> str:
        """The one app of the ``index``-th tiny release started (0: the oldest)."""
        return f"app:{self.tiny[index]}-w1-c1-a1"

    async def lookup(self, entity: str) -> dict[str, Any]:
        """One ``GET /entities/{id}``: status, answer summary, index fields, Temporal calls it took."""
        assert self.http is not None
        before = await self.stats()
        began = time.perf_counter()
        try:
            response = await self.http.get(f"{API}/entities/{entity}", timeout=LOOKUP_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            return {"entity": entity, "status": None, "seconds": time.perf_counter() - began,
                    "summary": f"{type(exc).__name__}: {exc}"}
        seconds = time.perf_counter() - began
        delta = stats_delta(before, await self.stats())
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:200]
        expected = "release:" + entity.removeprefix("app:").removesuffix("-w1-c1-a1")
        found = body.get("release_id") if isinstance(body, dict) else None
        return {"entity": entity, "status": response.status_code, "seconds": seconds, "summary": summarize(body),
                "right_release": None if found is None else found == expected,
                "index": index_fields(body), "calls": delta["calls"], "failures": delta["failures"],
                "entity_queries": delta["calls"].get("query:entity", 0),
                "entity_queries_failed": delta["failures"].get("query:entity", 0)}

    async def wait_index(self, entity: str) -> dict[str, Any]:
        """Ask until the answer says ``complete`` (not false) or ``--index-wait`` passes."""
        began = time.perf_counter()
        first = await self.lookup(entity)
        answer = first
        while answer["index"].get("complete") is False and time.perf_counter() - began < self.args.index_wait:
            print(f"[lookup] index not complete yet: {answer['index']} ({time.perf_counter() - began:.0f} s)",
                  flush=True)
            await asyncio.sleep(10)
            answer = await self.lookup(entity)
        return {"first": first, "last": answer, "waited_s": round(time.perf_counter() - began, 1),
                "complete": answer["index"].get("complete")}

    async def entity_lookup(self, out: dict[str, Any]) -> None:
        """Lookups of apps of old releases, after the index (if any) says it is complete. The index is asked about
        another old release's app first (the 150th newest), so every timed lookup is a first question."""
        mirrors_left = await self.wait_no_mirrors()
        index = await self.wait_index(self.tiny_app(max(0, len(self.tiny) - 150)))
        first = index["first"]
        print(f"[lookup] probe lookup (150th newest, {mirrors_left} mirrors left): {first['status']} in "
              f"{first['seconds']:.1f} s, {first['summary']}" + (f", index {first['index']}" if first["index"] else "")
              + f"; entity queries {first.get('entity_queries')}, failed {first.get('entity_queries_failed')}",
              flush=True)
        if index["complete"] is not None:
            print(f"[lookup] index complete={index['complete']} after {index['waited_s']:.0f} s: "
                  f"{index['last']['index']}", flush=True)
        lookups = []
        for label, entity in self.lookup_targets():
            answer = {"label": label, **await self.lookup(entity)}
            lookups.append(answer)
            print(f"[lookup] {lookup_line(answer)}", flush=True)
        seconds = [a["seconds"] for a in lookups]
        statuses: dict[str, int] = {}
        for a in lookups:
            statuses[str(a["status"])] = statuses.get(str(a["status"]), 0) + 1
        out["lookup"] = {"mirrors_left_before": mirrors_left, "index": index, "lookups": lookups,
                         "statuses": statuses, **latency_summary(seconds)}
        print(f"[lookup] {len(lookups)} lookups: p50 {fmt(ms(percentile(seconds, 0.5)))} ms, p95 "
              f"{fmt(ms(percentile(seconds, 0.95)))} ms, statuses {statuses}", flush=True)

    # ---- 3. watched releases ----------------------------------------------------------------------------------------
    async def watched(self, out: dict[str, Any]) -> None:
        """``--watched`` small releases with one SSE stream each: at rest, then changes."""
        count = self.args.watched
        self.watch_rounds += 1
        mirrors_left = await self.wait_no_mirrors()  # releases found by the lookups are followed for a while
        keys = [f"fleet-{self.tag}-watch{self.watch_rounds}-{i:03d}" for i in range(count)]
        started = await self.stack.start_releases(keys, per_bundle=WATCHED_APPS, concurrency=20)
        if started.failures:
            raise RuntimeError(f"{len(started.failures)} watched releases did not start: {set(started.failures)}")
        await asyncio.gather(*(self.stack.wait_release_ready(r) for r in started.ids))
        row: dict[str, Any] = {"releases": count, "apps_each": WATCHED_APPS, "mirrors_left_before": mirrors_left}
        out["watched"] = row
        streams = Streams(self.stack.url, self.token)
        try:
            began = time.perf_counter()
            await streams.open(started.ids)
            row["open_seconds"] = round(time.perf_counter() - began, 1)
            print(f"[watched] {count} releases of {WATCHED_APPS} apps, one SSE stream each, open in "
                  f"{row['open_seconds']:.1f} s", flush=True)
            await asyncio.sleep(15)  # the loads' own calls are over and the mirrors have gone quiet (10 s)
            rest = row["rest"] = await self.window(self.args.duration)
            rest["streams_ended"] = streams.ended
            stale = len(rest["stale_mirrors"])
            print(f"[watched] at rest {rest['seconds']:.0f} s: Temporal calls {rest['total_calls_per_s']:.1f}/s "
                  f"({', '.join(f'{k} {v:.1f}' for k, v in rest['calls_per_s'].items())}), console "
                  f"{fmt(rest['cpu_percent'].get('console'), 1)} % of a core (worker "
                  f"{fmt(rest['cpu_percent'].get('worker'), 1)} %, temporal "
                  f"{fmt(rest['cpu_percent'].get('temporal'), 1)} %), mirrors {rest['mirrors']}, stale {stale}, "
                  f"streams ended {streams.ended}", flush=True)
            row["changes"] = await self.changes(streams, started.ids)
            row["lookups"] = await self.lookups_while_watched()
        finally:
            await streams.close()

    async def lookups_while_watched(self) -> list[dict[str, Any]]:
        """A few entity lookups of old releases (not asked before) while every watched release is polled."""
        count = len(self.tiny)
        picks = [("120th newest", count - 120), ("a third", count // 3 + 7), ("11th oldest", 10)]
        answers = []
        for label, index in picks[: self.args.lookups]:
            answer = {"label": label, **await self.lookup(self.tiny_app(index))}
            answers.append(answer)
            print(f"[watched] lookup while watched: {lookup_line(answer)}", flush=True)
        return answers

    async def changes(self, streams: Streams, release_ids: list[str]) -> dict[str, Any]:
        """One transition on CHANGES releases, CHANGE_GAP_SECONDS apart, then a second one on REPEAT_CHANGES of
        them: change → SSE latency, split by how long the release had been quiet."""
        plan = [(rid, "deploying") for rid in release_ids[:CHANGES]]
        plan += [(rid, "verifying") for rid in release_ids[:REPEAT_CHANGES]]
        tasks = []
        for rid, state in plan:
            tasks.append(asyncio.create_task(self.one_change(streams, rid, state)))
            await asyncio.sleep(CHANGE_GAP_SECONDS)
        samples = await asyncio.gather(*tasks)
        result: dict[str, Any] = {"samples": samples}
        groups = {"all": samples,
                  f"quiet >= {QUIET_SECONDS:g} s": [s for s in samples if s["quiet_s"] >= QUIET_SECONDS],
                  f"quiet < {QUIET_SECONDS:g} s": [s for s in samples if s["quiet_s"] < QUIET_SECONDS]}
        for name, group in groups.items():
            seen = [s["latency_s"] for s in group if s["latency_s"] is not None]
            result[name] = latency_summary(seen, len(group) - len(seen))
            print(f"[watched] change → SSE, {name:<14}: p50 {fmt(result[name]['p50_ms'])} ms, p95 "
                  f"{fmt(result[name]['p95_ms'])} ms, max {fmt(result[name]['max_ms'])} ms ({len(seen)} of "
                  f"{len(group)} seen)", flush=True)
        return result

    async def one_change(self, streams: Streams, release_id: str, state: str) -> dict[str, Any]:
        """Report one app's new state; the time from just before the report to its ``change`` event."""
        from release_console.temporal.releases import report

        key = release_id.removeprefix("release:")
        app = f"app:{key}-w1-c1-a1"
        quiet = time.perf_counter() - streams.last_change.get(release_id, streams.opened_at)
        began = time.perf_counter()
        error = None
        try:
            await report(self.stack.client, release_id, [(app, state)])
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        reported = time.perf_counter() - began
        streams.last_change[release_id] = began
        seen = None if error else await streams.wait_for(app, state, began + EVENT_TIMEOUT_SECONDS)
        return {"release": release_id, "state": state, "quiet_s": round(quiet, 1), "report_s": round(reported, 3),
                "latency_s": None if seen is None else seen - began, "error": error}


def summarize(body: Any) -> str:
    """One line about a lookup's answer: the release found, or the error's code and message."""
    if not isinstance(body, dict):
        return str(body)[:160]
    if "release_id" in body or "release" in body:
        entity = body.get("entity") if isinstance(body.get("entity"), dict) else body
        return f"found in {body.get('release_id') or body.get('release')} (state {entity.get('state')})"
    detail = body.get("detail") if isinstance(body.get("detail"), dict) else body
    code = detail.get("code") or detail.get("error")
    message = detail.get("message") or detail.get("detail")
    return f"{code}: {str(message)[:160]}" if code or message else json.dumps(body)[:160]


class Streams:
    """One SSE stream per release, read in the background: when each ``change`` event (entity, state) arrived."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, read=None),
                                      limits=httpx.Limits(max_connections=None, max_keepalive_connections=0))
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        self.arrivals: dict[tuple[str, str], float] = {}
        self.last_change: dict[str, float] = {}
        self.opened_at = 0.0
        self.ended = 0
        self.hello: dict[str, asyncio.Event] = {}
        self.errors: list[str] = []
        self.arrived = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self, release_ids: list[str], timeout: float = 300) -> None:
        """Open every stream (10 at a time) and wait for each ``hello``; RuntimeError when one could not open."""
        slots = asyncio.Semaphore(10)
        for rid in release_ids:
            self.hello[rid] = asyncio.Event()
            self.tasks.append(asyncio.create_task(self.read(rid, slots)))
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in self.hello.values())), timeout)
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} streams did not open: {self.errors[:3]}")
        self.opened_at = time.perf_counter()

    async def read(self, release_id: str, slots: asyncio.Semaphore) -> None:
        """Read one stream until cancelled; an error is kept in ``errors`` (and counts as its ``hello``)."""
        await slots.acquire()
        released = False

        def opened() -> None:
            nonlocal released
            self.hello[release_id].set()
            if not released:
                slots.release()
                released = True

        try:
            async with self.http.stream("GET", f"{API}/releases/{release_id}/events", headers=self.headers) as resp:
                if resp.status_code != 200:
                    raise RuntimeError(f"{release_id}: {resp.status_code} {(await resp.aread())[:200]!r}")
                async for event, data in sse_events(resp):
                    if event == "hello":
                        opened()
                    elif event == "change":
                        change = json.loads(data)
                        self.arrivals.setdefault((change["id"], change["state"]), time.perf_counter())
                        self.arrived.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            opened()
            self.ended += 1

    async def wait_for(self, entity: str, state: str, deadline: float) -> float | None:
        """When the ``change`` event naming ``entity`` in ``state`` arrived (None: not by ``deadline``)."""
        while (entity, state) not in self.arrivals and time.perf_counter() < deadline:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.perf_counter()))
        return self.arrivals.get((entity, state))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.http.aclose()


# ---------------------------------------------------------------------------------------------------------------------
# output


def print_report(results: dict[str, Any]) -> None:
    """One table per size with every row."""
    m = results["machine"]
    print(f"\nRelease Console fleet benchmark — {results['started_at'][:19]}Z, code {results['code']['revision']} "
          f"({results['code']['root']}), {m['cores']} cores ({m['cpu']}), load average at start "
          f"{', '.join(f'{x:.2f}' for x in m['loadavg'])}; windows {results['settings']['duration_s']:g} s")
    for size in results["sizes"]:
        print(f"\n--- {size['releases']:,} releases " + "-" * 60)
        for line in size_lines(size):
            print(line)
    for problem in results.get("problems", []):
        print(f"problem: {problem}")
    print(f"run took {results.get('elapsed_s', 0):.0f} s")


def lookup_line(answer: dict[str, Any]) -> str:
    """One lookup: status, time, answer, index fields, entity queries."""
    right = {True: " (its release)", False: " (NOT its release)"}.get(answer.get("right_release"), "")
    return (f"{answer.get('label', ''):<16} {answer['entity']}: {answer['status']} in {answer['seconds']:.2f} s, "
            f"{answer['summary'][:100]}{right}" + (f", index {answer['index']}" if answer.get("index") else "")
            + f"; entity queries {answer.get('entity_queries', 'n/a')}, failed "
            f"{answer.get('entity_queries_failed', 'n/a')}")


def others_cpu(window: dict[str, Any]) -> str:
    """The worker's and Temporal's CPU in a window, for context."""
    cpu = window["cpu_percent"]
    return f"worker CPU {fmt(cpu.get('worker'), 1)} %, temporal {fmt(cpu.get('temporal'), 1)} %"


def size_lines(size: dict[str, Any]) -> list[str]:
    """The printed rows of one size."""
    lines = []
    start = size.get("start")
    if start:
        lines.append(f"tiny releases started: {start['started']:,} in {start['start_seconds']:.0f} s "
                     f"({start['failures']} failed); listed by the console: {start['listed']:,}")
    lst = size.get("list", {})
    for key, label in (("idle", "list at rest, nobody reading"), ("one_reader", "list at rest, one API reader")):
        w = lst.get(key)
        if w:
            lines.append(f"{label:<34} console CPU {fmt(w['cpu_percent'].get('console'), 1):>5} % | list calls "
                         f"{w['list_calls_per_s']:.2f}/s | all Temporal calls {w['total_calls_per_s']:.1f}/s | RSS "
                         f"{fmt((w['console_rss_kib'] or 0) / 1024)} MiB | {others_cpu(w)}")
    wrk = lst.get("wrk_10")
    if wrk:
        lines.append(f"{'first page, 10 connections':<34} p50 {fmt(wrk['p50_ms'], 1)} ms | p95 {fmt(wrk['p95_ms'], 1)}"
                     f" ms | {wrk['rps']:,.0f} req/s | errors {wrk['errors'] + wrk['socket_errors']}, timeouts "
                     f"{wrk['timeouts']}")
    appear = lst.get("appear")
    if appear:
        lines.append(f"{'new release in the first page':<34} median {fmt(appear['median_s'], 1)} s | max "
                     f"{fmt(appear['max_s'], 1)} s | {appear['samples']} samples, {appear['missed']} missed")
    lookup = size.get("lookup")
    if lookup:
        index = lookup["index"]
        if index.get("complete") is not None:
            lines.append(f"{'entity index':<34} complete={index['complete']} after {index['waited_s']:.0f} s: "
                         f"{index['last'].get('index')}")
        lines.append(f"  {lookup_line({**index['first'], 'label': 'probe: 150th new'})}")
        for a in lookup["lookups"]:
            lines.append(f"  {lookup_line(a)}")
        lines.append(f"{'entity lookup (old releases)':<34} p50 {fmt(lookup['p50_ms'])} ms | p95 "
                     f"{fmt(lookup['p95_ms'])} ms | statuses {lookup['statuses']}")
    watched = size.get("watched")
    if watched and watched.get("rest"):
        rest = watched["rest"]
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in rest["calls_per_s"].items())
        lines.append(f"{watched['releases']} watched releases at rest{'':<8} console CPU "
                     f"{fmt(rest['cpu_percent'].get('console'), 1):>5} % | Temporal calls "
                     f"{rest['total_calls_per_s']:.1f}/s ({kinds})"
                     f" | mirrors {rest['mirrors']}, stale {len(rest['stale_mirrors'])} | {others_cpu(rest)}")
    changes = (watched or {}).get("changes")
    if changes:
        for name in [k for k in changes if k != "samples"]:
            c = changes[name]
            lines.append(f"  change → SSE, {name:<18} p50 {fmt(c['p50_ms'])} ms | p95 {fmt(c['p95_ms'])} ms | max "
                         f"{fmt(c['max_ms'])} ms | {c['samples']} seen, {c['missed']} missed")
    for answer in (watched or {}).get("lookups", []):
        lines.append(f"  lookup while watched: {lookup_line(answer)}")
    return lines


# ---------------------------------------------------------------------------------------------------------------------
# entry point


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--releases", type=int, nargs="+", default=[5000, 20000],
                        help="fleet sizes, each adding tiny releases to the previous one")
    parser.add_argument("--duration", type=float, default=60, help="seconds of each at-rest window")
    parser.add_argument("--watched", type=int, default=100, help="watched releases (one SSE stream each)")
    parser.add_argument("--lookups", type=int, default=10, help="entity lookups timed per size")
    parser.add_argument("--index-wait", type=float, default=1200, help="seconds to wait for a complete entity index")
    parser.add_argument("--index-rate", type=float, default=None,
                        help="ENTITY_INDEX_QUERIES_PER_SECOND of the console (default: the console's own)")
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default /tmp/fleet-….json)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 releases, 20 watched, 15 s windows")
    args = parser.parse_args(argv)
    if args.quick:
        args.releases, args.watched, args.duration, args.lookups = [300], 20, 15.0, 4
    if sorted(args.releases) != args.releases or min(args.releases) < 101:
        parser.error("--releases: increasing sizes of at least 101")
    if args.watched < CHANGES or args.duration <= 0 or args.lookups < 1:
        parser.error(f"--watched must be at least {CHANGES}; --duration and --lookups positive")
    return args


def main(argv: list[str] | None = None) -> None:
    run_benchmark(Fleet, parse_args(argv), needs_wrk=True)


if __name__ == "__main__":
    main()
