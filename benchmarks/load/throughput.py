"""The console under wrk: a row per endpoint and connection count (req/s, percentiles, Temporal calls, loop lag,
stale mirrors), and what the rows are compared with: a bare FastAPI app, Temporal calls/s for 1 and 200 readers, the
naive path (one Temporal query per request) and the release list with thousands of releases."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

from harness import API, fixed, run_wrk

from load.naive import run_naive_reader
from load.report import naive_line, row_line
from load.stack import LoadRun, Releases


def endpoints(run: LoadRun) -> list[tuple[str, str, str]]:
    """(name, path, credential: "" | "token" | "key") of every measured endpoint."""
    key = run.stack.releases.key_10k
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


async def wrk_row(run: LoadRun, name: str, path: str, connections: int, seconds: float, *,
                  auth: str = "token") -> dict:
    """One wrk run against the console (``auth``: "token", "key" or "" for none), /stats read around it."""
    stack = run.stack
    stack.procs.check_alive()
    before = await stack.stats()
    t_before = time.perf_counter()
    credential = {"token": stack.token, "key": stack.api_key}.get(auth) or None
    result = await run_wrk(
        stack.url + path, connections, seconds, token=credential, timeout=run.args.timeout,
        threads=run.args.wrk_threads,
    )
    t_wrk = time.perf_counter()
    # an overloaded console still works through requests wrk gave up on: this read waits for that backlog
    after = await stack.stats(timeout=300)
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


async def endpoint_rows(run: LoadRun, only: tuple[str, ...] = ()) -> None:
    """A wrk row per endpoint (``only``: those named) and ``--connections`` count."""
    args, http = run.args, run.stack.http
    assert http is not None
    chosen = [e for e in endpoints(run) if not only or e[0] in only]
    for name, path, _auth in chosen:  # every endpoint answers 200 before it is loaded
        response = await http.get(path, timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: GET {path} answered {response.status_code}: {response.text[:200]}")
    total = len(chosen) * len(args.connections)
    minutes = total * (args.duration + 1) / 60
    print(f"\nwrk: {total} rows of {args.duration:g} s (about {minutes:.1f} min)")
    for name, path, auth in chosen:
        for connections in args.connections:
            row = await wrk_row(run, name, path, connections, args.duration, auth=auth)
            run.results["rows"].append(row)
            print("  " + row_line(row), flush=True)


async def bare_baseline(run: LoadRun) -> None:
    """The bare FastAPI app's ``/health`` at 100 connections (or the most measured): each row's % of it."""
    args = run.args
    connections = 100 if 100 in args.connections else max(args.connections)
    result = await run_wrk(
        f"{run.stack.bare_url}/health", connections, args.duration, token=None, timeout=args.timeout,
        threads=args.wrk_threads,
    )
    run.results["bare_fastapi"] = {"connections": connections, **result.__dict__}
    print(f"  bare FastAPI /health at {connections} connections: {result.rps:,.0f} req/s, "
          f"p99 {fixed(result.p99_ms)} ms")
    for row in run.results["rows"]:
        if row["connections"] == connections and result.rps:
            row["percent_of_bare"] = 100 * row["rps"] / result.rps


async def temporal_calls_per_second(run: LoadRun) -> None:
    """Temporal calls/s of the whole console while 1 vs 200 readers read the 10k release's default detail."""
    rid = Releases.rid(run.stack.releases.key_10k)
    window = min(run.args.duration, 10.0)
    out: dict[str, Any] = {"window_s": window, "path": f"{API}/releases/{rid}"}
    for readers in (1, 200):
        row = await wrk_row(run, f"readers={readers}", f"{API}/releases/{rid}", readers, window)
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
    run.results["temporal_calls"] = out


async def naive_path(run: LoadRun, script: Path) -> None:
    """One Temporal query (``summary``) or one full ``snapshot`` read per request, from another process (``script
    --naive-worker``), next to the console's row of the same answer."""
    args, stack = run.args, run.stack
    rid = Releases.rid(stack.releases.key_10k)
    compare = {"summary": "detail (default)", "snapshot": "detail depth=4 limit=1000"}
    run.results["naive"] = []
    for kind in ("summary", "snapshot"):
        for connections in args.connections:
            stack.procs.check_alive()
            result = await run_naive_reader(script, stack.env, kind, rid, connections, args.naive_duration,
                                            args.timeout)
            console = next(
                (r for r in run.results["rows"] if r["name"] == compare[kind] and r["connections"] == connections),
                None,
            )
            result["compared_with"] = compare[kind]
            result["console_rps"] = console["rps"] if console else None
            result["console_temporal_calls_per_request"] = console["temporal_calls_per_request"] if console else None
            result["console_over_naive"] = console["rps"] / result["rps"] if console and result["rps"] else None
            run.results["naive"].append(result)
            print("  " + naive_line(result), flush=True)


async def release_list(run: LoadRun) -> None:
    """``--list-releases`` tiny releases (started 50 at a time), then the list's first page at 10 connections."""
    stack, http = run.stack, run.stack.http
    assert http is not None
    count = run.args.list_releases
    tag = secrets.token_hex(2)
    started = time.perf_counter()
    result = await stack.console.start_releases([f"tiny-{tag}-{i}" for i in range(count)], timeout=600)
    failures, start_seconds = result.failures, result.seconds
    print(f"\n{count - len(failures):,} tiny releases started in {start_seconds:.1f} s"
          + (f" ({len(failures)} failed)" if failures else ""))
    wanted = count - len(failures) + 3
    size = 0
    wait_deadline = time.monotonic() + 180
    while time.monotonic() < wait_deadline:
        await http.get(f"{API}/releases", params={"limit": 1})  # keeps the shared list refreshing
        size = (await stack.stats())["release_list_size"]
        if size >= wanted:
            break
        await asyncio.sleep(1)
    print(f"  the console lists {size:,} releases ({time.perf_counter() - started:.1f} s after the first start)")
    row = await wrk_row(run, f"list, {size:,} releases", f"{API}/releases?limit=50", 10, run.args.duration)
    run.results["release_list"] = {
        "releases_started": count - len(failures),
        "start_failures": len(failures),
        "start_seconds": start_seconds,
        "listed": size,
        **row,
    }
    print("  " + row_line(row), flush=True)
