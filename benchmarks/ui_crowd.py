"""The console's pages under an incident crowd: N open tabs on one release page, and on the release list.

    python benchmarks/ui_crowd.py [--tabs 1 100 300 500] [--failing-tabs 100] [--apps 10000] [--changes 20]
                                  [--list-releases 5000] [--list-tabs 300] [--no-chromium] [--py-spy DIR]
                                  [--json PATH] [--quick]

Real processes (benchmarks/harness.py): a Temporal dev server, a worker, the console (``python main.py``, no demo).
Tabs are emulated the way a browser opens them (benchmarks/emulated_tabs.py): GET the page with a signed-in session
cookie (ten users, signed in through the login page), connect socket.io over a websocket with the page's own query,
report the tab visible. One real chromium tab (Debian's chromium through selenium) gives the end-to-end figure.

Per tab count (``--tabs``), on a fresh release of ``--apps`` apps that is quiet (all pending: the page shows the
release and its waves), and per ``--failing-tabs`` count on one with failed apps in three waves (the crowd's tabs
open the failing branches, as they do in an incident, and the changes touch rows every tab shows):

- time to open a tab, 10 at a time (GET → the page's header arrived over the websocket), p50/p95;
- console RSS per open tab;
- two change phases, each ``--changes`` Temporal Updates spaced 2-3.5 s apart: apps of an open branch move to
  ``deployed`` (the header's "N/M apps done" changes), then apps move to new state names (a new count chip);
  per change and tab the time from the Update's acknowledgement until the tab's websocket carried the change;
  p50/p95/max, and updates not seen within 5 s ("lost");
- during each phase: ``/api/v1/health`` p99 (one probe every 50 ms), event-loop lag p50/p99/max (the console's own
  sampler over its last minute: a phase lasts about a minute), console CPU as % of one core, websocket bytes per tab
  per change, stale mirrors, and the mirror's ``changes`` poll latency when the console reports it.

Then the release list: ``--list-releases`` small releases, ``--list-tabs`` tabs on ``/``, 20 releases not on the
first page change (each moves to the top of the default "last change" order): change → tab as above.

Figures are measurements, not pass/fail; the benchmark's own process shares the 2 cores with the console.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulated_tabs import Browser, Tab
from harness import API, ConsoleStack, StackBenchmark, fmt, ms, percentile, run_benchmark

USERS = 10
OPEN_BATCH = 10
LOST_AFTER_SECONDS = 5.0
LIST_LOST_AFTER_SECONDS = 10.0
"""The list learns of a change from visibility, refreshed every RELEASE_LIST_REFRESH_SECONDS (2 s): a list change
reaches a tab seconds later even with one tab, so "lost" means later than this there."""
HEALTH_PROBE_SECONDS = 0.05
Change = tuple[Callable[[], Awaitable[Any]], str, str]
"""(make the change, a text its message to a tab carries, a text the page then shows)."""
FAILING_WAVES = (1, 2, 3)


def summary(values: list[float]) -> dict[str, float | None]:
    """p50/p95/max of ``values`` (seconds) in milliseconds."""
    return {"p50": ms(percentile(values, 0.5)), "p95": ms(percentile(values, 0.95)),
            "max": ms(max(values) if values else None), "n": len(values)}


class HealthProbe:
    """GET /api/v1/health every HEALTH_PROBE_SECONDS while running; latencies in seconds."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url
        self.latencies: list[float] = []
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                response = await self.http.get(f"{self.url}{API}/health", timeout=10)
                response.raise_for_status()
                self.latencies.append(time.perf_counter() - started)
            except httpx.HTTPError:
                self.failures += 1
            await asyncio.sleep(max(0.0, HEALTH_PROBE_SECONDS - (time.perf_counter() - started)))

    def __enter__(self) -> HealthProbe:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


class Chromium:
    """One real chromium tab (selenium), signed in, timing when a text appears on the page (MutationObserver)."""

    WATCH = """
        window.__seen = window.__seen || {};
        const wanted = arguments[0];
        if (!window.__observer) {
          window.__wanted = new Set();
          window.__observer = new MutationObserver(() => {
            const text = document.body.innerText;
            for (const w of window.__wanted)
              if (!(w in window.__seen) && text.includes(w)) window.__seen[w] = Date.now();
          });
          window.__observer.observe(document.body, {subtree: true, childList: true, characterData: true});
        }
        window.__wanted.add(wanted);
    """

    def __init__(self, url: str, password: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1600,1000"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.url = url
        self.password = password

    def sign_in(self) -> None:
        from selenium.webdriver.common.by import By

        self.driver.get(f"{self.url}/login")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            inputs = self.driver.find_elements(By.CSS_SELECTOR, "input")
            if len(inputs) >= 2:
                inputs[0].send_keys("admin")
                inputs[1].send_keys(self.password)
                self.driver.find_element(By.XPATH, '//button[.//*[normalize-space(text())="Log in"]]').click()
                break
            time.sleep(0.2)
        while time.monotonic() < deadline and "/login" in self.driver.current_url:
            time.sleep(0.2)

    def open(self, path: str, ready_text: str, timeout: float = 60) -> None:
        self.driver.get(self.url + path)
        deadline = time.monotonic() + timeout
        while ready_text not in self.driver.find_element("tag name", "body").text:
            if time.monotonic() > deadline:
                raise TimeoutError(f"chromium did not show {ready_text!r}")
            time.sleep(0.2)

    def expect(self, text: str) -> None:
        self.driver.execute_script(self.WATCH, text)

    def seen_epoch(self, text: str) -> float | None:
        value = self.driver.execute_script("return (window.__seen || {})[arguments[0]] ?? null;", text)
        return None if value is None else float(value) / 1000.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()


class CrowdBench(StackBenchmark):
    """Runs every scenario."""

    name = "ui_crowd"

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        super().__init__(args, tmp, {k: v for k, v in vars(args).items() if k != "json"})
        self.stack = ConsoleStack(tmp, task_queue="ui-crowd")
        self.http: httpx.AsyncClient | None = None
        self.browsers: list[Browser] = []
        self.token = ""
        self.chromium: Chromium | None = None
        self.results.update({"cpus": os.cpu_count(), "release_page": [], "release_list": None})

    def report(self) -> None:
        print_report(self.results)

    # ---- set-up ---------------------------------------------------------------------------------------------------
    async def setup(self) -> None:
        await self.stack.connect()
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        self.http = httpx.AsyncClient(timeout=60, limits=limits)
        self.token = await self.stack.token(self.http)
        headers = {"Authorization": f"Bearer {self.token}"}
        password = f"viewer-{secrets.token_hex(8)}"
        for n in range(USERS):
            name = f"crowd-{n}"
            response = await self.http.post(f"{self.stack.url}{API}/users", headers=headers,
                                            json={"username": name, "password": password, "role": "viewer"})
            if response.status_code not in (200, 201):
                raise RuntimeError(f"creating {name}: {response.status_code} {response.text[:200]}")
            browser = Browser(self.stack.url)
            await browser.sign_in(name, password)
            self.browsers.append(browser)
        print(f"{USERS} users signed in through the login page")
        if self.args.chromium and shutil.which("chromium"):
            self.chromium = await asyncio.to_thread(Chromium, self.stack.url, self.stack.password)
            await asyncio.to_thread(self.chromium.sign_in)

    async def stats(self) -> dict[str, Any]:
        assert self.http is not None
        return await self.stack.stats(self.http, self.token, timeout=120)

    def stale_events(self) -> int:
        """How often a mirror turned stale so far (the console's "mirror … is stale" warnings)."""
        if self.stack.console is None:
            return 0
        with self.stack.console.log.open("rb") as log:
            return sum(1 for line in log if b"readpath.mirror:_set_error" in line)

    async def progress(self, release_id: str, version: int) -> tuple[int, int]:
        """(apps done, apps total) of a release once the console has seen ``version``."""
        assert self.http is not None
        deadline = time.monotonic() + 60
        while True:
            response = await self.http.get(f"{self.stack.url}{API}/releases/{release_id}", params={"depth": 0},
                                           headers={"Authorization": f"Bearer {self.token}"})
            body = response.json() if response.status_code == 200 else {}
            if body.get("version", 0) >= version or time.monotonic() > deadline:
                return int(body["apps_done"]), int(body["apps_total"])
            await asyncio.sleep(0.2)

    async def open_tabs(self, path: str, count: int, ready_text: str) -> tuple[list[Tab], list[float], int]:
        """``count`` tabs on ``path``, opened OPEN_BATCH at a time; (tabs, open times, failures)."""
        tabs: list[Tab] = []
        times: list[float] = []
        failures = 0

        async def open_one(i: int) -> None:
            nonlocal failures
            tab = Tab(self.browsers[i % len(self.browsers)], path)
            try:
                times.append(await tab.open(ready_text=ready_text, timeout=60))
                await tab.report_visible()
                tabs.append(tab)
            except Exception as exc:
                failures += 1
                self.problems.append(f"opening {path}: {type(exc).__name__}: {exc}")
                await tab.close()

        for start in range(0, count, OPEN_BATCH):
            await asyncio.gather(*(open_one(i) for i in range(start, min(count, start + OPEN_BATCH))))
        return tabs, times, failures

    async def close_tabs(self, tabs: list[Tab]) -> None:
        await asyncio.gather(*(t.close() for t in tabs))
        await asyncio.sleep(6)  # the console deletes a client some seconds after its socket closed

    # ---- one change phase -----------------------------------------------------------------------------------------
    @staticmethod
    async def arrivals(tabs: list[Tab], text: str, deadline: float) -> None:
        """Wait until every tab's socket carried ``text`` or the deadline passed."""
        waiting = [tab for tab in tabs if tab.seen_at(text) is None]
        for tab in waiting:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError, RuntimeError):
                await tab.wait_frame(text, left)

    async def change_phase(
        self, tabs: list[Tab], changes: list[Change], label: str,
        lost_after: float = LOST_AFTER_SECONDS,
    ) -> dict[str, Any]:
        """Make each change, then wait until every tab's socket carried its text (or ``lost_after`` seconds
        passed), and until the chromium tab shows its visible text."""
        assert self.http is not None
        latencies: list[float] = []
        chromium: list[float] = []
        lost = 0
        bytes_before = sum(t.bytes_received for t in tabs)
        stale_before = self.stale_events()
        cpu_before, started = self.stack.console_cpu_seconds(), time.perf_counter()
        poll_before = (await self.stats()).get("poll_latency")
        with HealthProbe(self.http, self.stack.url) as probe:
            for make, text, visible in changes:
                await asyncio.sleep(random.uniform(2.0, 3.5))  # not in step with the mirror's poller
                for tab in tabs:
                    tab.expect(text)
                if self.chromium is not None:
                    await asyncio.to_thread(self.chromium.expect, visible)
                await make()
                acked, acked_epoch = time.perf_counter(), time.time()
                deadline = acked + lost_after
                await self.arrivals(tabs, text, deadline)
                for tab in tabs:
                    seen = tab.seen_at(text)
                    if seen is None or seen - acked > lost_after:
                        lost += 1
                    else:
                        latencies.append(max(0.0, seen - acked))
                    tab.forget([text])
                if self.chromium is not None:
                    seen_epoch = None
                    while seen_epoch is None and time.time() < acked_epoch + lost_after:
                        seen_epoch = await asyncio.to_thread(self.chromium.seen_epoch, visible)
                        if seen_epoch is None:
                            await asyncio.sleep(0.05)
                    if seen_epoch is not None:
                        chromium.append(max(0.0, seen_epoch - acked_epoch))
        elapsed = time.perf_counter() - started
        cpu_after = self.stack.console_cpu_seconds()
        stats = await self.stats()
        lag = stats.get("loop_lag") or {}
        health = probe.latencies
        figures = {
            "phase": label,
            "changes": len(changes),
            "change_to_tab_ms": summary(latencies),
            "lost": lost,
            "chromium_change_to_visible_ms": summary(chromium) if self.chromium is not None else None,
            "health_ms": {"p50": (percentile(health, 0.5) or 0) * 1000, "p99": (percentile(health, 0.99) or 0) * 1000,
                          "max": max(health, default=0) * 1000, "n": len(health), "failures": probe.failures},
            "loop_lag_ms": {"p50": lag.get("p50_ms"), "p99": lag.get("p99_ms"), "max": lag.get("max_ms")},
            "console_cpu_pct": None if cpu_before is None or cpu_after is None
            else (cpu_after - cpu_before) / elapsed * 100,
            "ws_bytes_per_tab_per_change": (sum(t.bytes_received for t in tabs) - bytes_before)
            / max(1, len(tabs)) / max(1, len(changes)),
            "stale_mirrors": sorted(m["release_id"] for m in stats.get("mirrors", []) if m.get("stale")),
            "mirror_stale_events": self.stale_events() - stale_before,
            "poll_latency": {"before": poll_before, "after": stats.get("poll_latency")},
            "tabs_closed_by_server": sum(1 for t in tabs if t.closed_by_server),
        }
        poll_p99 = (figures["poll_latency"]["after"] or {}).get("p99_ms")
        print(f"  {label}: change → tab p50 {fmt(figures['change_to_tab_ms']['p50'])} / p95 "
              f"{fmt(figures['change_to_tab_ms']['p95'])} / max {fmt(figures['change_to_tab_ms']['max'])} ms, "
              f"lost {lost}, /health p99 {fmt(figures['health_ms']['p99'])} ms, loop lag p99 "
              f"{fmt(figures['loop_lag_ms']['p99'])} ms, CPU {fmt(figures['console_cpu_pct'])} %, "
              f"{fmt(figures['ws_bytes_per_tab_per_change'])} B/tab/change, stale mirror events "
              f"{figures['mirror_stale_events']}, poll p99 {fmt(poll_p99)} ms"
              + (f", chromium p95 {fmt(figures['chromium_change_to_visible_ms']['p95'])} ms" if chromium else ""))
        return figures

    # ---- the release page -----------------------------------------------------------------------------------------
    async def release_page(self, count: int, *, failing: bool = False) -> None:
        """``count`` tabs on a fresh release (``failing``: failed apps in three waves, whose branches the tabs open,
        as they do in an incident); two change phases."""
        from release_console.temporal.releases import report

        kind = "failing" if failing else "quiet"
        key = f"crowd-{count}-{kind}-{secrets.token_hex(2)}"
        release_id = await self.stack.start_release(key, self.args.apps)
        version = 0
        if failing:
            result = await report(self.stack.client, release_id,
                                  [(f"app:{key}-w{w}-c1-a1", "failed") for w in FAILING_WAVES])
            version = result.version
        done, total = await self.progress(release_id, version)
        path = f"/releases/{release_id}"
        rss_before = self.stack.console_rss_kib()
        with self.profiled(f"open {count} {kind} release tabs"):
            tabs, open_times, open_failures = await self.open_tabs(path, count, f"{done}/{total} apps done")
        await asyncio.sleep(3)
        rss_after = self.stack.console_rss_kib()
        if self.chromium is not None:
            await asyncio.to_thread(self.chromium.open, path, f"{done}/{total} apps done")
        row: dict[str, Any] = {
            "tabs": count,
            "release": kind,
            "apps": total,
            "open_ms": summary(open_times),
            "open_failures": open_failures,
            "rss_mib": {"before": (rss_before or 0) / 1024, "after": (rss_after or 0) / 1024},
            "rss_kib_per_tab": None if not tabs or rss_before is None or rss_after is None
            else (rss_after - rss_before) / len(tabs),
            "phases": [],
        }
        print(f"{count} tabs on {release_id} ({total:,} apps, {kind}): open p50 {fmt(row['open_ms']['p50'])} / p95 "
              f"{fmt(row['open_ms']['p95'])} ms ({open_failures} failed), RSS "
              f"{fmt(row['rss_kib_per_tab'])} KiB per tab")
        batch = max(1, self.args.batch)
        moved = iter((w, a) for w in FAILING_WAVES for a in range(2, 101))

        def deploy_change(i: int) -> Change:
            nonlocal done
            apps_moved = [next(moved) for _ in range(batch)]
            done += batch
            text = f"{done}/{total} apps done"

            async def make() -> None:
                await report(self.stack.client, release_id, [(f"app:{key}-w{w}-c1-a{a}", "deployed")
                                                             for w, a in apps_moved])
            return make, text, text

        def new_state_change(i: int) -> Change:
            w, a = next(moved)
            state = f"canary-{i + 1}"

            async def make() -> None:
                await report(self.stack.client, release_id, [(f"app:{key}-w{w}-c1-a{a}", state)])
            return make, f'{state}"', f"1 {state}"  # a state name ends a JSON string, whatever carries it

        try:
            for label, build in (("apps → deployed", deploy_change), ("new state names", new_state_change)):
                changes = [build(i) for i in range(self.args.changes)]
                with self.profiled(f"{count} {kind} tabs {label}"):
                    row["phases"].append(await self.change_phase(tabs, changes, label))
        finally:
            await self.close_tabs(tabs)
        self.results["release_page"].append(row)

    # ---- the release list -----------------------------------------------------------------------------------------
    async def release_list(self) -> None:
        """``--list-releases`` small releases, ``--list-tabs`` tabs on ``/``; 20 older releases change."""
        from release_console.temporal.releases import build_plan, report, start_release

        count = self.args.list_releases
        tag = secrets.token_hex(2)
        semaphore = asyncio.Semaphore(50)
        ids: list[str] = []

        async def start_one(i: int) -> None:
            plan = build_plan(f"list-{tag}-{i:05d}", waves=1, clusters_per_wave=1, apps_per_bundle=2)
            async with semaphore:
                await start_release(self.stack.client, self.stack.settings, plan)
            ids.append(plan.id)

        started = time.perf_counter()
        await asyncio.gather(*(start_one(i) for i in range(count)))
        print(f"{count:,} releases started in {time.perf_counter() - started:.0f} s")
        for release_id in ids[-20:]:
            await self.stack.wait_release_ready(release_id)
        await asyncio.sleep(5)  # visibility and the console's list catch up
        rss_before = self.stack.console_rss_kib()
        oldest = sorted(ids)[:200]
        tabs, open_times, open_failures = await self.open_tabs("/", self.args.list_tabs, f"release:list-{tag}-")
        await asyncio.sleep(3)
        rss_after = self.stack.console_rss_kib()
        changed = random.sample(oldest, 20)

        def change(release_id: str) -> Change:
            key = release_id.removeprefix("release:")

            async def make() -> None:
                await report(self.stack.client, release_id, [(f"app:{key}-w1-c1-a1", "deployed")])
            return make, release_id, release_id

        row: dict[str, Any] = {
            "releases": count,
            "tabs": len(tabs),
            "open_ms": summary(open_times),
            "open_failures": open_failures,
            "rss_kib_per_tab": None if not tabs or rss_before is None or rss_after is None
            else (rss_after - rss_before) / len(tabs),
        }
        try:
            with self.profiled(f"{len(tabs)} list tabs"):
                row["phase"] = await self.change_phase(tabs, [change(r) for r in changed], "20 releases change",
                                                       lost_after=LIST_LOST_AFTER_SECONDS)
        finally:
            await self.close_tabs(tabs)
        self.results["release_list"] = row

    # ---- running --------------------------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self.setup()
            for count in self.args.tabs:
                await self.section(f"release page, {count} tabs", lambda c=count: self.release_page(c))
            for count in self.args.failing_tabs:
                await self.section(f"failing release page, {count} tabs",
                                   lambda c=count: self.release_page(c, failing=True))
            if self.args.list_releases:
                await self.section("release list", self.release_list)
        finally:
            if self.chromium is not None:
                await asyncio.to_thread(self.chromium.close)
            for browser in self.browsers:
                await browser.close()
            if self.http is not None:
                await self.http.aclose()

    @contextlib.contextmanager
    def profiled(self, name: str) -> Iterator[None]:
        """py-spy records the console meanwhile (``--py-spy DIR``), sampling without pausing it (speedscope file)."""
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not self.args.py_spy or self.stack.console is None or not Path(py_spy).exists():
            yield
            return
        Path(self.args.py_spy).mkdir(parents=True, exist_ok=True)
        out = Path(self.args.py_spy) / f"{name.replace(' ', '-').replace(',', '').replace('→', 'to')}.speedscope.json"
        profiler = subprocess.Popen([py_spy, "record", "--pid", str(self.stack.console.pid), "--nonblocking",
                                     "--format", "speedscope", "--rate", "100", "--output", str(out)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            profiler.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(60)


def print_report(results: dict[str, Any]) -> None:
    print()
    print(f"ui crowd benchmark, {results['code']['revision']}, {results['cpus']} CPUs")
    header = ("| tabs | release | phase | open p50/p95 ms | change → tab p50/p95/max ms | lost | chromium p95 ms "
              "| /health p99 ms | loop lag p50/p99/max ms | CPU % | RSS KiB/tab | B/tab/change | stale events |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rows = [(r, p) for r in results["release_page"] for p in r["phases"]]
    if results.get("release_list") and results["release_list"].get("phase"):
        rows.append((results["release_list"], results["release_list"]["phase"]))
    for row, phase in rows:
        lat, lag = phase["change_to_tab_ms"], phase["loop_lag_ms"]
        chromium = phase.get("chromium_change_to_visible_ms") or {}
        what = row.get("release") or f"list of {row.get('releases')}"
        opened = f"{fmt(row['open_ms']['p50'])}/{fmt(row['open_ms']['p95'])}"
        print(f"| {row['tabs']} | {what} | {phase['phase']} | {opened} "
              f"| {fmt(lat['p50'])}/{fmt(lat['p95'])}/{fmt(lat['max'])} | {phase['lost']} | {fmt(chromium.get('p95'))} "
              f"| {fmt(phase['health_ms']['p99'])} | {fmt(lag['p50'])}/{fmt(lag['p99'])}/{fmt(lag['max'])} "
              f"| {fmt(phase['console_cpu_pct'])} | {fmt(row['rss_kib_per_tab'])} "
              f"| {fmt(phase['ws_bytes_per_tab_per_change'])} | {phase.get('mirror_stale_events', 'n/a')} |")
    for problem in results["problems"]:
        print(f"problem: {problem}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, nargs="*", default=[1, 100, 300, 500])
    parser.add_argument("--failing-tabs", type=int, nargs="*", default=[100],
                        help="tab counts on a failing release (its failing branches open in every tab)")
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=20, help="Updates per change phase")
    parser.add_argument("--batch", type=int, default=5, help="apps moved to deployed per Update")
    parser.add_argument("--list-releases", type=int, default=5000)
    parser.add_argument("--list-tabs", type=int, default=300)
    parser.add_argument("--no-chromium", dest="chromium", action="store_false")
    parser.add_argument("--py-spy", metavar="DIR", help="record the console with py-spy during each section")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 and 20 tabs, 4 changes, 200 releases")
    args = parser.parse_args(argv)
    if args.quick:
        args.tabs, args.failing_tabs, args.changes, args.list_releases, args.list_tabs = [1, 20], [10], 4, 200, 20
    return args


def main(argv: list[str] | None = None) -> None:
    run_benchmark(CrowdBench, parse_args(argv))


if __name__ == "__main__":
    main()
