"""How soon a change shows and what a reader waits for: change → REST and → SSE, the read path during a password
spray, cold opens of big releases and the memory they take, and the background transitions on the 10k release."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from pathlib import Path
from typing import Any

import httpx
from harness import API, fixed, latency_summary, ms, percentile, run_wrk, sse_events

from load.stack import LoadRun, Releases

WRK_SPRAY = Path(__file__).resolve().parent.parent / "wrk_spray.lua"
RUN_LIMIT_SECONDS = 3600
"""Hard bound for background loops (transition reporter, SSE reader): they also stop when the run ends."""


async def cold_open(run: LoadRun, label: str, key: str) -> dict[str, Any]:
    """The first read of a release (``GET ?depth=1``): the console loads it into a mirror."""
    assert run.stack.http is not None
    rid = Releases.rid(key)
    started = time.perf_counter()
    response = await run.stack.http.get(f"{API}/releases/{rid}", params={"depth": 1}, timeout=120)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"cold open of {rid}: {response.status_code} {response.text[:200]}")
    body = response.json()
    run.results["cold_open_ms"][label] = {"ms": elapsed * 1000, "entities": body["entity_count"]}
    print(f"cold open of the {label} release ({body['entity_count']:,} entities): {elapsed * 1000:.0f} ms")
    return dict(body)


async def load_100k(run: LoadRun) -> None:
    """The 100k release started and opened: the console's RSS before and after, per 100,000 mirrored entities."""
    stack = run.stack
    await stack.start_release(stack.releases.key_100k, 100_000)
    await asyncio.sleep(1)
    before = stack.rss()
    body = await cold_open(run, "100k", stack.releases.key_100k)
    await asyncio.sleep(2)  # let the load's garbage go
    after = stack.rss()
    run.results["rss_kib"]["before_100k"] = before
    run.results["rss_kib"]["after_100k"] = after
    if before and after:
        per = (after - before) / body["entity_count"] * 100_000
        run.results["rss_kib_per_100k_entities"] = per
        print(f"console RSS {before / 1024:.0f} → {after / 1024:.0f} MiB with the 100k release: "
              f"{per / 1024:.0f} MiB per 100,000 mirrored entities")


async def report_transitions(run: LoadRun) -> None:
    """A few transitions per second on the 10k release (apps of waves 3-10), until the run ends."""
    from release_console.temporal.releases import report

    key = run.stack.releases.key_10k
    states = ["deploying", "verifying", "deployed"]
    period = 1.0 / run.args.transitions_per_second
    counts = {"reported": 0, "failed": 0}
    run.results["background_transitions"] = counts
    started = time.monotonic()
    for n in range(int(RUN_LIMIT_SECONDS * run.args.transitions_per_second)):
        if run.stop.is_set() or time.monotonic() - started > RUN_LIMIT_SECONDS:
            break
        app = f"app:{key}-w{random.randint(3, 10)}-c{random.randint(1, 10)}-a{random.randint(1, 100)}"
        try:
            await report(run.stack.client, Releases.rid(key), [(app, states[n % 3])])
            counts["reported"] += 1
        except Exception:
            counts["failed"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.stop.wait(), period)
    counts["seconds"] = round(time.monotonic() - started, 1)


async def change_latency(run: LoadRun) -> None:
    """Update → visible in GET detail (polled every 10 ms) and → ``change`` event on an open SSE stream."""
    from release_console.temporal.releases import report

    stack = run.stack
    assert stack.http is not None
    key = stack.releases.key_10k
    rid = Releases.rid(key)
    arrivals: dict[str, tuple[int, float]] = {}
    arrived = asyncio.Event()
    stream_open = asyncio.Event()

    async def read_sse() -> None:
        async with httpx.AsyncClient(base_url=stack.url, timeout=httpx.Timeout(30, read=None)) as sse:
            headers = {"Authorization": f"Bearer {stack.token}", "Accept": "text/event-stream"}
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
        for i in range(run.args.latency_samples):
            await asyncio.sleep(random.uniform(0.1, 0.6))  # not in step with the mirror's poller
            app = f"app:{key}-w2-c{1 + i // 100 % 10}-a{i % 100 + 1}"
            result = await report(stack.client, rid, [(app, "verifying" if i // 1000 % 2 == 0 else "deployed")])
            acked = time.perf_counter()
            deadline = acked + 10
            seen_rest: float | None = None
            while time.perf_counter() < deadline:
                body = (await stack.http.get(f"{API}/releases/{rid}", params={"depth": 0})).json()
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
    run.results["change_latency_ms"] = {
        "rest": latency_summary(rest, missed["rest"]),
        "sse": latency_summary(sse, missed["sse"]),
        "mirror_poll_seconds": stack.settings.MIRROR_POLL_SECONDS,
        "measured_from": "the Update's acknowledgement",
    }
    r, s = run.results["change_latency_ms"]["rest"], run.results["change_latency_ms"]["sse"]
    print(f"change → REST: p50 {fixed(r['p50_ms'], 0)} ms, p95 {fixed(r['p95_ms'], 0)} ms ({r['samples']} samples); "
          f"change → SSE: p50 {fixed(s['p50_ms'], 0)} ms, p95 {fixed(s['p95_ms'], 0)} ms ({s['samples']} samples)")


async def password_spray(run: LoadRun) -> None:
    """The read path while a password spray runs: change → REST p95 and ``/health`` p99, quiet and during
    ``--spray-connections`` connections of wrong logins (each from a new address, so each gets a bcrypt check)."""
    args = run.args
    quiet = await _reads_meanwhile(run, None)
    url = f"{run.stack.url}{API}/login/access-token"
    seconds = quiet["seconds"] + 10
    spray = asyncio.create_task(run_wrk(url, args.spray_connections, seconds, token=None, timeout=args.timeout,
                                        threads=args.wrk_threads, script=WRK_SPRAY))
    await asyncio.sleep(3)  # the spray is under way
    sprayed = await _reads_meanwhile(run, spray)
    logins = await spray
    sprayed["logins"] = {"per_s": round(logins.rps), "p50_ms": logins.p50_ms, "p99_ms": logins.p99_ms,
                         "answers_4xx": logins.errors, "timeouts": logins.timeouts}
    run.results["password_spray"] = {"quiet": quiet, "spray": sprayed, "connections": args.spray_connections}
    for label, part in (("quiet", quiet), (f"spray ×{args.spray_connections}", sprayed)):
        extra = ""
        if "logins" in part:
            extra = (f"; logins {part['logins']['per_s']}/s answered, p99 {fixed(part['logins']['p99_ms'], 0)} ms, "
                     f"{part['logins']['timeouts']} timeouts")
        print(f"password spray, {label}: change → REST p50 {fixed(part['rest']['p50_ms'], 0)} / p95 "
              f"{fixed(part['rest']['p95_ms'], 0)} ms, /health p99 {fixed(part['health_p99_ms'], 0)} ms{extra}")


async def _reads_meanwhile(run: LoadRun, spray: asyncio.Task | None) -> dict[str, Any]:
    """``--latency-samples`` changes of the 10k release read back through REST, with a /health probe every
    50 ms alongside (ends early if ``spray`` ends)."""
    from release_console.temporal.releases import report

    stack = run.stack
    http = stack.http
    assert http is not None
    rid = Releases.rid(stack.releases.key_10k)
    health: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                await http.get(f"{API}/health", timeout=10)
                health.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    prober = asyncio.create_task(probe())
    rest: list[float] = []
    missed = 0
    began = time.perf_counter()
    try:
        for i in range(run.args.latency_samples):
            if spray is not None and spray.done():
                break
            await asyncio.sleep(random.uniform(0.1, 0.6))
            app = f"app:{stack.releases.key_10k}-w3-c1-a{i % 100 + 1}"
            result = await report(stack.client, rid, [(app, "deploying" if i % 2 == 0 else "deployed")])
            acked = time.perf_counter()
            while time.perf_counter() < acked + 10:
                body = (await http.get(f"{API}/releases/{rid}", params={"depth": 0})).json()
                if body["version"] >= result.version:
                    rest.append(time.perf_counter() - acked)
                    break
                await asyncio.sleep(0.01)
            else:
                missed += 1
    finally:
        done.set()
        await prober
    return {"rest": latency_summary(rest, missed), "health_p99_ms": ms(percentile(health, 0.99)),
            "seconds": round(time.perf_counter() - began, 1)}
