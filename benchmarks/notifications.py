"""Notifications with real processes: event → webhook latency, exactly once with two consoles, a receiver outage,
and what subscriptions cost at rest.

    python benchmarks/notifications.py [--failures 100] [--rate 5] [--down-seconds 120] [--down-failures 20]
                                       [--releases 200] [--subscriptions 1000] [--rest-seconds 60]
                                       [--json PATH] [--quick]

Starts its own stack: ``temporal server start-dev`` with its Prometheus metrics on (they count every request the
server answers, by operation), the release worker (``python -m release_console worker``), **two consoles**
(``python main.py``, each with its own notification worker; one SECRET_KEY, so each opens the other's sealed channel
URLs) and, in this process, a local webhook (Apprise's ``json://``) that records when each message arrived.
Everything is the consoles' defaults (NOTIFY_RETRY_MAX_SECONDS 15 s, list refresh 1 s …) unless said here.

1. **At rest**: ``--releases`` running releases (one app each), nothing changes, once the entity indexes are
   complete. Temporal calls per second over ``--rest-seconds``, from the server's metrics (frontend requests of the
   console's namespace by operation; the workers' long polls shown apart) and from each console's
   ``/api/v1/stats`` (the read path's calls; the notification store's version query is not a read-path call and is
   counted only by the server, in ``QueryWorkflow``), first with no subscription, then with ``--subscriptions``
   subscriptions (users of 200 each, every event, one release each, spread over the releases) and a personal
   channel per user.
2. **Event → delivered**: ``--failures`` releases fail, ``--rate`` per second (the writer reports the release's
   state ``failed``). Latency from the moment the writer's report returned (the workflow has recorded the failure)
   to the webhook's receipt: p50/p95/max; then, once every delivery workflow has ended, messages per event (exactly
   1 wanted), duplicates and missing, and how many deliveries each console started and found started by the other.
3. **Receiver down**: the webhook stops for ``--down-seconds`` (default 120); ``--down-failures`` releases fail
   during the first part of it; the webhook comes back on the same port: every message must arrive, once. Prints
   the time from the receiver's return to the last message (the deliveries' retry interval bounds it).

Figures, not pass/fail; problems (a missing or duplicate message among them) are listed at the end. ``--quick``:
40 failures, 10 during a 20 s outage, 200 subscriptions over 50 releases, 20 s windows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    API,
    ROOT,
    ConsoleStack,
    Proc,
    StackBenchmark,
    fmt,
    free_port,
    percentile,
    run_benchmark,
    stats_delta,
    wait_for_port,
    wait_until_ready,
)

SUBSCRIPTIONS_PER_USER = 200
"""The console's limit per user (MAX_SUBSCRIPTIONS_PER_USER): more subscriptions need more users."""
EVENTS = ["release.failed", "release.completed", "release.closed", "release.stalled", "wave.failed", "app.failed"]
LONG_POLLS = frozenset({"PollWorkflowTaskQueue", "PollActivityTaskQueue", "PollNexusTaskQueue"})
ARRIVAL_TIMEOUT_SECONDS = 120.0
LATE_SECONDS = 5.0
"""After the last delivery ended, messages are counted this much later (several list refreshes of both consoles)."""


# ---------------------------------------------------------------------------------------------------------------------
# the receiver


class Webhook:
    """A local ``json://`` receiver: keeps (arrival time, the notification's document) of every message it took."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    document = json.loads(json.loads(raw)["message"])
                except (ValueError, KeyError, TypeError):
                    document = {"unreadable": raw[:200].decode(errors="replace")}
                with hook._lock:
                    hook.arrivals.append((at, document))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="webhook", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of(self, releases: set[str], event: str = "release.failed") -> list[tuple[float, str]]:
        """(arrival time, release) of the messages of this event for these releases."""
        with self._lock:
            return [(at, d.get("release", "")) for at, d in self.arrivals
                    if d.get("event") == event and d.get("release") in releases]


# ---------------------------------------------------------------------------------------------------------------------
# the stack: Temporal with metrics, the release worker, two consoles


class TwoConsoles(ConsoleStack):
    """:class:`harness.ConsoleStack` with the server's metrics on and a second console next to the first."""

    def __init__(self, tmp: Path, console_env: dict[str, str]) -> None:
        super().__init__(tmp, console_env=console_env, task_queue="bench-notify")
        self.metrics_port = free_port()
        self.second_port = free_port()
        self.second_url = f"http://127.0.0.1:{self.second_port}"
        self.second: Proc | None = None

    def start(self, *, console: bool = True) -> None:
        from release_console.temporal.embedded import temporal_binary
        from release_console.temporal.search_attributes import dev_server_flags

        temporal = self.procs.start(
            "temporal",
            [temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port",
             str(self.temporal_port), "--metrics-port", str(self.metrics_port), "--log-level", "error",
             *dev_server_flags()],
            self.env, self.tmp,
        )
        wait_for_port(self.temporal_port, temporal, 60)
        self.worker = self.procs.start("worker", [sys.executable, "-m", "release_console", "worker"], self.env, ROOT)
        self.start_console()  # the first one creates the admin; the second finds it
        env = {**self.env, "PORT": str(self.second_port), "DATA_DIR": str(self.tmp / "console-2-data"),
               "INSTANCE_NAME": "console-2"}
        self.second = self.procs.start("console-2", [sys.executable, str(ROOT / "main.py")], env, ROOT)
        wait_until_ready(self.second_url, self.procs, self.second)

    @property
    def urls(self) -> list[str]:
        return [self.url, self.second_url]

    @property
    def console_logs(self) -> list[Path]:
        return [p.log for p in self.procs.started if p.name.startswith("console")]

    async def server_requests(self, http: httpx.AsyncClient) -> Counter[str]:
        """Requests the Temporal frontend answered in the console's namespace, by operation, since it started."""
        text = (await http.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30)).text
        counts: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            if family.name != "service_requests":
                continue
            for sample in family.samples:
                labels = sample.labels
                if labels.get("service_name") == "frontend" and labels.get("namespace") == "default":
                    counts[labels.get("operation", "?")] += int(sample.value)
        return counts

    async def open_deliveries(self) -> int:
        """Notification deliveries still running (their send not yet done or given up)."""
        found = await self.client.count_workflows(
            "WorkflowType = 'NotificationDelivery' AND ExecutionStatus = 'Running'",
            rpc_timeout=timedelta(seconds=10))
        return found.count


def delivery_lines(log: Path) -> tuple[set[str], set[str]]:
    """Delivery ids a console started, and those it found already started by the other (from its log)."""
    text = log.read_text(errors="replace")
    started = set(re.findall(r"notification \S+ for \S+ to channel \S+ started: (rc-notify-[0-9a-f]+)", text))
    refused = set(re.findall(r"to channel \S+ was already started .*?: (rc-notify-[0-9a-f]+)", text))
    return started, refused


# ---------------------------------------------------------------------------------------------------------------------
# the benchmark


class Bench(StackBenchmark):
    """Every section: event → delivered, exactly once over two consoles, a receiver that is down, the cost at rest."""

    name = "notifications"

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        super().__init__(args, tmp, {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()})
        self.tag = secrets.token_hex(2)
        env = {"SECRET_KEY": secrets.token_urlsafe(48)}  # both consoles open each other's channels
        self.stack = TwoConsoles(tmp, env)
        self.webhook = Webhook()
        self.http = httpx.AsyncClient(timeout=60)
        self.admin: dict[str, str] = {}

    def report(self) -> None:
        print(f"\n{len(self.problems)} problem(s)" + "".join(f"\n  - {p}" for p in self.problems))

    async def run(self) -> None:
        await self.stack.connect()
        self.webhook.start()
        try:
            token = await self.stack.token(self.http)
            self.admin = {"Authorization": f"Bearer {token}"}  # one SECRET_KEY: valid on both consoles
            await self.section("at rest", self.at_rest)
            await self.section("latency", self.latency)
            await self.section("receiver down", self.receiver_down)
        finally:
            self.webhook.stop()
            await self.http.aclose()

    # ---- plumbing ---------------------------------------------------------------------------------------------------
    async def call(self, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
        response = await self.http.request(method, url, headers=headers, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    async def stats(self) -> list[dict[str, Any]]:
        return [await self.call("GET", f"{url}{API}/stats", self.admin) for url in self.stack.urls]

    async def wait(self, check: Any, what: str, timeout: float, step: float = 1.0) -> float:
        """Call ``check`` (async) until it is true; returns the seconds it took (RuntimeError after ``timeout``)."""
        began = time.monotonic()
        while not await check():
            if time.monotonic() - began > timeout:
                raise RuntimeError(f"{what}: not within {timeout:.0f} s")
            await asyncio.sleep(step)
        return time.monotonic() - began

    async def start_releases(self, prefix: str, count: int) -> list[str]:
        started = await self.stack.start_releases([f"{prefix}-{n:04d}" for n in range(count)])
        if started.failures:
            raise RuntimeError(f"{len(started.failures)} release starts failed: {sorted(set(started.failures))}")
        await asyncio.gather(*(self.stack.wait_release_ready(r) for r in started.ids))
        return sorted(started.ids)

    async def listed_everywhere(self, count: int) -> None:
        async def listed() -> bool:
            return all(s["release_list_size"] >= count for s in await self.stats())

        await self.wait(listed, f"{count} releases listed by both consoles", 300)

    async def subscribed_everywhere(self, headers: dict[str, str], count: int) -> None:
        async def loaded() -> bool:
            lists = [await self.call("GET", f"{url}{API}/subscriptions", headers) for url in self.stack.urls]
            return all(len(found) >= count for found in lists)

        await self.wait(loaded, "both consoles to load the subscriptions", 120, 0.5)

    async def deliveries_ended(self, timeout: float = 300) -> None:
        async def ended() -> bool:
            return await self.stack.open_deliveries() == 0

        await self.wait(ended, "every delivery to end", timeout)

    async def fail(self, releases: list[str], rate: float) -> dict[str, float]:
        """Report each release ``failed``, ``rate`` per second; when each report returned (time.time())."""
        from release_console.temporal.releases import report

        reported: dict[str, float] = {}
        began = time.monotonic()
        for n, release in enumerate(releases):
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
            await report(self.stack.client, release, [(release, "failed")])
            reported[release] = time.time()
        return reported

    # ---- 1. at rest -------------------------------------------------------------------------------------------------
    async def at_rest(self) -> None:
        args = self.args
        out: dict[str, Any] = {}
        self.results["at_rest"] = out
        releases = await self.start_releases(f"rest-{self.tag}", args.releases)
        await self.listed_everywhere(args.releases)

        async def indexed() -> bool:
            return all((s.get("entity_index") or {}).get("complete") for s in await self.stats())

        waited = await self.wait(indexed, "the entity indexes to be complete", 600, 2)
        print(f"[rest] {len(releases)} releases listed and indexed by both consoles ({waited:.0f} s)", flush=True)
        await asyncio.sleep(5)
        out["without"] = await self.window(args.rest_seconds)
        self.print_window("no subscription", out["without"])

        users = -(-args.subscriptions // SUBSCRIPTIONS_PER_USER)
        began = time.monotonic()
        per_user = [min(SUBSCRIPTIONS_PER_USER, args.subscriptions - u * SUBSCRIPTIONS_PER_USER) for u in range(users)]
        headers = await asyncio.gather(*(self.subscriber(u, n, releases) for u, n in enumerate(per_user)))
        made = time.monotonic() - began
        for user_headers, count in zip(headers, per_user, strict=True):
            await self.subscribed_everywhere(user_headers, count)
        out["subscriptions"] = {"users": users, "subscriptions": sum(per_user), "created_s": round(made, 1),
                                "loaded_everywhere_s": round(time.monotonic() - began, 1)}
        print(f"[rest] {sum(per_user)} subscriptions of {users} users created in {made:.0f} s (one Update each), "
              f"loaded by both consoles {time.monotonic() - began:.0f} s after the first", flush=True)
        await asyncio.sleep(5)
        out["with"] = await self.window(args.rest_seconds)
        self.print_window(f"{sum(per_user)} subscriptions", out["with"])

    async def subscriber(self, n: int, count: int, releases: list[str]) -> dict[str, str]:
        """A user with a personal channel (the webhook) and ``count`` subscriptions to every event of one release
        each; their bearer headers."""
        username, password = f"sub-{self.tag}-{n}", f"bench-{secrets.token_hex(8)}"
        await self.call("POST", f"{self.stack.url}{API}/users", self.admin,
                        json={"username": username, "password": password, "role": "viewer"})
        token = await self.call("POST", f"{self.stack.url}{API}/login/access-token", {},
                                data={"username": username, "password": password})
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        channel = await self.call("POST", f"{self.stack.url}{API}/notification-channels", headers,
                                  json={"name": f"hook {n}", "url": self.webhook.url})
        for k in range(count):
            release = releases[(n * SUBSCRIPTIONS_PER_USER + k) % len(releases)]
            await self.call("POST", f"{self.stack.url}{API}/subscriptions", headers,
                            json={"release": release, "events": EVENTS, "channel": channel["id"]})
        return headers

    async def window(self, seconds: float) -> dict[str, Any]:
        """Temporal calls over ``seconds``: the server's count by operation, each console's read-path calls."""
        server_before, stats_before = await self.stack.server_requests(self.http), await self.stats()
        began = time.monotonic()
        await asyncio.sleep(seconds)
        wall = time.monotonic() - began
        server_after, stats_after = await self.stack.server_requests(self.http), await self.stats()
        server = {op: server_after[op] - server_before[op] for op in server_after
                  if server_after[op] != server_before[op]}
        calls = [stats_delta(b, a)["calls"] for b, a in zip(stats_before, stats_after, strict=True)]
        polls = {op: n for op, n in server.items() if op in LONG_POLLS}
        other = {op: n for op, n in server.items() if op not in LONG_POLLS}
        return {
            "seconds": round(wall, 1),
            "server_per_s": {op: round(n / wall, 2) for op, n in sorted(other.items())},
            "server_total_per_s": round(sum(other.values()) / wall, 2),
            "long_polls_per_s": {op: round(n / wall, 2) for op, n in sorted(polls.items())},
            "console_calls_per_s": [{k: round(v / wall, 2) for k, v in c.items()} for c in calls],
            "console_total_per_s": [round(sum(c.values()) / wall, 2) for c in calls],
        }

    @staticmethod
    def print_window(name: str, w: dict[str, Any]) -> None:
        print(f"[rest] {name}, {w['seconds']:.0f} s: Temporal server {w['server_total_per_s']:.2f} calls/s "
              f"{w['server_per_s']} (workers' long polls apart: {w['long_polls_per_s']}); consoles' read path "
              f"{w['console_total_per_s']} calls/s {w['console_calls_per_s']}", flush=True)

    # ---- 2. event → delivered -------------------------------------------------------------------------------------
    async def subscribe_admin(self, prefix: str) -> None:
        channel = await self.call("POST", f"{self.stack.url}{API}/notification-channels", self.admin,
                                  json={"name": f"bench {prefix}", "url": self.webhook.url, "shared": True})
        await self.call("POST", f"{self.stack.url}{API}/subscriptions", self.admin,
                        json={"release": f"release:{prefix}-*", "events": ["release.failed"],
                              "channel": channel["id"]})
        mine = len(await self.call("GET", f"{self.stack.url}{API}/subscriptions", self.admin))
        await self.subscribed_everywhere(self.admin, mine)

    async def latency(self) -> None:
        args = self.args
        prefix = f"lat-{self.tag}"
        await self.subscribe_admin(prefix)
        releases = await self.start_releases(prefix, args.failures)
        await self.listed_everywhere(args.releases + args.failures)
        print(f"[latency] {len(releases)} releases ready; failing {args.rate:g} per second", flush=True)
        logs_before = [delivery_lines(log) for log in self.stack.console_logs]
        reported = await self.fail(releases, args.rate)
        out = self.results["latency"] = await self.count(reported, logs_before)
        print(f"[latency] event → webhook over {out['events']} failures: p50 {fmt(out['p50_ms'])} ms, p95 "
              f"{fmt(out['p95_ms'])} ms, max {fmt(out['max_ms'])} ms", flush=True)
        self.print_counts("latency", out)

    async def count(self, reported: dict[str, float], logs_before: list[tuple[set[str], set[str]]],
                    since: float | None = None) -> dict[str, Any]:
        """Wait for a message per release (or ARRIVAL_TIMEOUT_SECONDS) and for every delivery to end; then count."""
        wanted = set(reported)

        async def arrived() -> bool:
            return {r for _, r in self.webhook.of(wanted)} >= wanted

        try:
            await self.wait(arrived, "a message per event", ARRIVAL_TIMEOUT_SECONDS, 0.2)
        except RuntimeError as exc:
            self.problems.append(str(exc))
        await self.deliveries_ended()
        await asyncio.sleep(LATE_SECONDS)  # the other console's attempts (and any late duplicate) come in too
        await self.deliveries_ended()
        messages = self.webhook.of(wanted)
        per_event = Counter(r for _, r in messages)
        first: dict[str, float] = {}
        for at, release in sorted(messages):
            first.setdefault(release, at)
        latencies = sorted(first[r] - (since if since is not None else reported[r]) for r in first)
        logs_after = [delivery_lines(log) for log in self.stack.console_logs]
        started = [len(a[0] - b[0]) for a, b in zip(logs_after, logs_before, strict=True)]
        refused = [len(a[1] - b[1]) for a, b in zip(logs_after, logs_before, strict=True)]
        duplicates = {r: n for r, n in per_event.items() if n > 1}
        missing = sorted(wanted - set(per_event))
        if duplicates or missing:
            self.problems.append(f"{len(duplicates)} events told more than once, {len(missing)} never")
        return {
            "events": len(wanted), "messages": len(messages),
            "messages_per_event": dict(Counter(per_event[r] for r in wanted)),
            "duplicates": duplicates, "missing": missing,
            "p50_ms": 1000 * percentile(latencies, 0.5) if latencies else None,
            "p95_ms": 1000 * percentile(latencies, 0.95) if latencies else None,
            "max_ms": 1000 * latencies[-1] if latencies else None,
            "started_per_console": started, "found_started_per_console": refused,
        }

    @staticmethod
    def print_counts(section: str, out: dict[str, Any]) -> None:
        spread = ", ".join(f"{n} message(s): {k} events" for n, k in sorted(out["messages_per_event"].items()))
        print(f"[{section}] {out['messages']} messages for {out['events']} events ({spread}); duplicates "
              f"{len(out['duplicates'])} {sorted(out['duplicates'])[:5]}, missing {len(out['missing'])} "
              f"{out['missing'][:5]}; deliveries started per console {out['started_per_console']}, found already "
              f"started by the other {out['found_started_per_console']}", flush=True)

    # ---- 3. receiver down --------------------------------------------------------------------------------------------
    async def receiver_down(self) -> None:
        args = self.args
        prefix = f"down-{self.tag}"
        await self.subscribe_admin(prefix)
        releases = await self.start_releases(prefix, args.down_failures)
        logs_before = [delivery_lines(log) for log in self.stack.console_logs]
        self.webhook.stop()
        down_at = time.monotonic()
        print(f"[down] receiver stopped for {args.down_seconds:g} s; {len(releases)} releases fail meanwhile",
              flush=True)
        rate = max(1.0, len(releases) / max(1.0, args.down_seconds / 2))  # within the first half of the outage
        reported = await self.fail(releases, rate)
        await asyncio.sleep(max(0.0, down_at + args.down_seconds - time.monotonic()))
        retrying = await self.stack.open_deliveries()
        self.webhook.start()
        back = time.time()
        out = self.results["receiver_down"] = await self.count(reported, logs_before, since=back)
        out["retrying_when_back"] = retrying
        out["back_to_last_ms"] = out.pop("max_ms")
        out["back_to_p50_ms"] = out.pop("p50_ms")
        out.pop("p95_ms")
        print(f"[down] {retrying} deliveries were retrying when the receiver came back; after its return: half the "
              f"messages within {fmt(out['back_to_p50_ms'])} ms, the last after {fmt(out['back_to_last_ms'])} ms",
              flush=True)
        self.print_counts("down", out)


# ---------------------------------------------------------------------------------------------------------------------
# entry point


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--failures", type=int, default=100, help="releases that fail (event → delivered)")
    parser.add_argument("--rate", type=float, default=5.0, help="failures reported per second")
    parser.add_argument("--down-seconds", type=float, default=120.0, help="how long the receiver stays down")
    parser.add_argument("--down-failures", type=int, default=20, help="releases that fail while it is down")
    parser.add_argument("--releases", type=int, default=200, help="running releases at rest")
    parser.add_argument("--subscriptions", type=int, default=1000, help="subscriptions at rest (200 per user)")
    parser.add_argument("--rest-seconds", type=float, default=60.0, help="length of each at-rest window")
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default /tmp/…)")
    parser.add_argument("--quick", action="store_true",
                        help="40 failures, 10 during a 20 s outage, 200 subscriptions over 50 releases, 20 s windows")
    args = parser.parse_args(argv)
    if args.quick:
        args.failures, args.down_failures, args.down_seconds = 40, 10, 20.0
        args.releases, args.subscriptions, args.rest_seconds = 50, 200, 20.0
    if min(args.failures, args.down_failures, args.releases, args.subscriptions) < 1 or args.rate <= 0:
        parser.error("counts and --rate must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    run_benchmark(Bench, parse_args(argv))


if __name__ == "__main__":
    main()
