"""Outages with real processes: how soon the console says that Temporal or a worker is gone, and how soon it is
back once they return.

    python benchmarks/outages.py [--rounds 5] [--json PATH] [--quick]

Starts its own stack: ``temporal server start-dev`` on a SQLite file (a restart on the same port and file keeps the
releases), the release worker (``python -m release_console worker``) and the console (``python main.py``), all with
their defaults. A release is read all along (its mirror is watched, as by an open page); a second one was read once
at the start and is quiet when a worker dies; each round reads a release nobody read before as well. One mirror of
their task queue is its sentinel (readpath/mirror.py), which finds a dead worker itself; the others learn it from the
sentinel once a witness confirmed it. Every check is an HTTP request over a real connection, repeated every 50 ms on
its own.
Each round:

1. **Temporal SIGKILLed**: seconds until ``/api/v1/ready`` answers 503, the watched release answers ``stale: true``
   and the unread release answers 503 ``temporal_unavailable``; then Temporal is started again: seconds from its
   port accepting connections until ``/ready`` is 200 and both releases answer fresh (200, ``stale: false``).
2. **Worker SIGKILLed** (Temporal itself fine): seconds until the watched and the quiet release answer stale because
   no worker answered; then a worker is started again: seconds from its start (its start-up included) until both
   are fresh.

The spec: an outage shows within 3 s, everything recovers within 5 s of Temporal's return, a worker that stops shows
as not responding within 3 s. Figures, not pass/fail: per check the median and the worst of the rounds; a check that
did not hold within its wait is a problem, listed at the end. ``--quick``: 2 rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import API, ConsoleStack, StackBenchmark, fixed, run_benchmark

GIVE_UP_SECONDS = 30.0
"""How long a check is waited for before it counts as a problem."""
STEP_SECONDS = 0.05

Check = Callable[[], Awaitable[bool]]


async def seconds_until(checks: dict[str, Check], since: float) -> dict[str, float | None]:
    """Per named check, the seconds from ``since`` until it first held (None: not within GIVE_UP_SECONDS)."""

    async def first_true(check: Check) -> float | None:
        while time.monotonic() - since < GIVE_UP_SECONDS:
            try:
                if await check():
                    return time.monotonic() - since
            except httpx.HTTPError:
                pass  # the console itself is up; a refused or slow request is a failed check
            await asyncio.sleep(STEP_SECONDS)
        return None

    found = await asyncio.gather(*(first_true(check) for check in checks.values()))
    return dict(zip(checks, found, strict=True))


class Bench(StackBenchmark):
    """Rounds of a Temporal crash and restart, then a worker crash and restart."""

    name = "outages"

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        super().__init__(args, tmp, {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()})
        self.stack = ConsoleStack(tmp, task_queue="bench-outages", temporal_db=tmp / "temporal.sqlite")
        self.http = httpx.AsyncClient(base_url=self.stack.url, timeout=5)
        self.rounds: list[dict[str, dict[str, float | None]]] = []
        self.results["rounds"] = self.rounds

    async def run(self) -> None:
        await self.stack.connect()
        self.http.headers["Authorization"] = f"Bearer {await self.stack.token(self.http)}"
        watched = await self.stack.start_release("outage-watched", 20, waves=2, per_bundle=5)
        quiet = await self.stack.start_release("outage-quiet", 20, waves=2, per_bundle=5)
        unread = [await self.stack.start_release(f"outage-unread-{n}", 1, waves=1, per_bundle=1)
                  for n in range(self.args.rounds)]
        await self.release(quiet)
        await self.release(watched)  # mirrored from now on
        for number in range(self.args.rounds):
            figures: dict[str, dict[str, float | None]] = {}
            self.rounds.append(figures)

            async def temporal_round(number: int = number, figures: dict[str, Any] = figures) -> None:
                figures.update(await self.temporal_crash(watched, unread[number]))

            async def worker_round(figures: dict[str, Any] = figures) -> None:
                figures.update(await self.worker_crash(watched, quiet))

            await self.section(f"round {number + 1}: Temporal", temporal_round)
            await self.section(f"round {number + 1}: worker", worker_round)
            print(f"round {number + 1}: " + "; ".join(
                f"{phase}: " + ", ".join(f"{name} {fixed(value, 2)} s" for name, value in checks.items())
                for phase, checks in figures.items()), flush=True)
        await self.http.aclose()

    async def release(self, release_id: str) -> tuple[int, dict[str, Any]]:
        response = await self.http.get(f"{API}/releases/{release_id}", params={"depth": 1})
        return response.status_code, response.json()

    async def fresh(self, release_id: str) -> bool:
        status, body = await self.release(release_id)
        return status == 200 and body["stale"] is False

    async def temporal_crash(self, watched: str, unread: str) -> dict[str, dict[str, float | None]]:
        """SIGKILL Temporal, then start it again on the same port and file."""

        async def ready_503() -> bool:
            return (await self.http.get(f"{API}/ready")).status_code == 503

        async def watched_stale() -> bool:
            status, body = await self.release(watched)
            return status == 200 and body["stale"] is True

        async def unread_503() -> bool:
            status, body = await self.release(unread)
            return status == 503 and body.get("code") == "temporal_unavailable"

        async def ready_200() -> bool:
            return (await self.http.get(f"{API}/ready")).status_code == 200

        assert self.stack.temporal is not None
        killed = time.monotonic()
        self.stack.procs.kill(self.stack.temporal)
        noticed = await seconds_until(
            {"/ready 503": ready_503, "watched stale": watched_stale, "unread 503": unread_503}, killed)
        await asyncio.to_thread(self.stack.start_temporal, f"temporal-{len(self.rounds)}")
        back = time.monotonic()
        recovered = await seconds_until({"/ready 200": ready_200, "watched fresh": lambda: self.fresh(watched),
                                         "unread fresh": lambda: self.fresh(unread)}, back)
        self.note_missing("Temporal down", noticed)
        self.note_missing("Temporal back", recovered)
        return {"Temporal SIGKILL → noticed": noticed, "Temporal answering → recovered": recovered}

    async def worker_crash(self, watched: str, quiet: str) -> dict[str, dict[str, float | None]]:
        """SIGKILL the worker, then start another."""

        async def says_worker(release_id: str) -> bool:
            status, body = await self.release(release_id)
            return status == 200 and body["stale"] is True and "no worker answered" in (body["stale_reason"] or "")

        assert self.stack.worker is not None
        killed = time.monotonic()
        self.stack.procs.kill(self.stack.worker)
        noticed = await seconds_until({"watched: worker not responding": lambda: says_worker(watched),
                                       "quiet: worker not responding": lambda: says_worker(quiet)}, killed)
        started = time.monotonic()
        self.stack.start_worker(f"worker-{len(self.rounds)}")
        recovered = await seconds_until({"watched fresh": lambda: self.fresh(watched),
                                         "quiet fresh": lambda: self.fresh(quiet)}, started)
        self.note_missing("worker down", noticed)
        self.note_missing("worker back", recovered)
        return {"worker SIGKILL → noticed": noticed, "worker started → recovered": recovered}

    def note_missing(self, phase: str, figures: dict[str, float | None]) -> None:
        for name, value in figures.items():
            if value is None:
                self.problems.append(f"round {len(self.rounds)}, {phase}: {name} not within {GIVE_UP_SECONDS:.0f} s")

    def report(self) -> None:
        print(f"\nOutages over {len(self.rounds)} round(s): seconds, median / worst")
        phases: dict[str, dict[str, list[float]]] = {}
        for figures in self.rounds:
            for phase, measured in figures.items():
                for name, value in measured.items():
                    if value is not None:
                        phases.setdefault(phase, {}).setdefault(name, []).append(value)
        summary: dict[str, dict[str, dict[str, float]]] = {}
        for phase, series in phases.items():
            print(f"  {phase}")
            for name, values in series.items():
                median, worst = statistics.median(values), max(values)
                summary.setdefault(phase, {})[name] = {"median_s": round(median, 3), "worst_s": round(worst, 3)}
                print(f"    {name:34} {median:6.2f} / {worst:6.2f}")
        self.results["summary"] = summary
        print(f"\n{len(self.problems)} problem(s)" + "".join(f"\n  - {p}" for p in self.problems))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="crash-and-restart rounds")
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default /tmp/…)")
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 2
    if args.rounds < 1:
        parser.error("--rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    run_benchmark(Bench, parse_args(argv))


if __name__ == "__main__":
    main()
