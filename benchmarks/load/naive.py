"""The naive path: readers asking Temporal directly, one query (``summary``) or every ``snapshot`` page per request,
in a process of their own (console_load.py ``--naive-worker``), so the console's process is not measured."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness import ROOT, ms, percentile

PREFIX = "NAIVE_JSON "


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
        "p50_ms": ms(percentile(latencies, 0.5)),
        "p95_ms": ms(percentile(latencies, 0.95)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "error_kinds": error_kinds,
    }


async def naive_main(args: argparse.Namespace) -> None:
    """The naive reader process: print its result, then exit at once (no waiting for a stuck call)."""
    result = await naive_worker(
        args.naive_worker, args.naive_release, args.naive_connections, args.naive_seconds, args.timeout
    )
    print(PREFIX + json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)


async def run_naive_reader(script: Path, env: dict[str, str], kind: str, release_id: str, connections: int,
                           seconds: float, timeout: float) -> dict[str, Any]:
    """Start ``script --naive-worker`` (the naive reader process) and return its result."""
    cmd = [
        sys.executable, str(script), "--naive-worker", kind, "--naive-release", release_id,
        "--naive-connections", str(connections), "--naive-seconds", str(seconds), "--timeout", str(timeout),
    ]
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), seconds + 90)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    line = next((ln for ln in out.decode().splitlines() if ln.startswith(PREFIX)), None)
    if line is None:
        raise RuntimeError(f"naive reader gave no result (exit {proc.returncode}): {err.decode()[-800:]}")
    return dict(json.loads(line.removeprefix(PREFIX)))
